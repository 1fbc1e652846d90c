package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/mountspec"
)

func TestParseOutput(t *testing.T) {
	out, err := ParseOutput([]byte(`# a comment

mount src=/usr/lib/libcuda.so.1,dst=/usr/local/nvidia/lib64/libcuda.so.1,ro
  mount   src=/a:b,dst=/c
env pp(LD_LIBRARY_PATH)=/usr/local/nvidia/lib64
env FOO=a b
`))
	if err != nil {
		t.Fatal(err)
	}
	wantMounts := []mountspec.Mount{
		{Source: "/usr/lib/libcuda.so.1", Destination: "/usr/local/nvidia/lib64/libcuda.so.1", ReadOnly: true, Type: "bind"},
		{Source: "/a:b", Destination: "/c", Type: "bind"},
	}
	if diff := cmp.Diff(wantMounts, out.Mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	var env []string
	for _, s := range out.Env {
		env = append(env, s.String())
	}
	if diff := cmp.Diff([]string{"pp(LD_LIBRARY_PATH)=/usr/local/nvidia/lib64", "FOO=a b"}, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestParseOutputErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello world", `output line 1: "hello world": expected "mount SPEC", "env SPEC" or a # comment`},
		{"# ok\nmount src=rel,dst=/x", `output line 2: mount source "rel": not an absolute path`},
		{"mount dst=/x", "output line 1: bad mount spec"},
		{"env 1BAD=x", "output line 1: bad env spec"},
		{"\x00\x01\xff", "output line 1: not text"},
		{"mount src=/a,dst=/proc/x", "inside /proc"},
	}
	for _, tt := range tests {
		_, err := ParseOutput([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseOutput(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// script writes an executable shell script in dir.
func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestGenerators(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "ok", `echo "mount src=/data,dst=/d"; echo "env MOD=$PCOCC_MODULE:$1"; echo note >&2`)
	script(t, dir, "fails", `echo "one"; echo "no driver here" >&2; exit 3`)
	script(t, dir, "hangs", `sleep 30 & sleep 30`)
	script(t, dir, "garbage", `echo "mount src=/a,dst=/b"; echo "Segmentation fault"`)
	g := &Generators{Self: "/bin/echo", Timeout: 500 * time.Millisecond}
	run := func(gen string) (Output, error) {
		return g.Run(context.Background(), config.Module{Name: "m", Generator: gen, Dir: dir}, []string{"PATH=/usr/bin:/bin"})
	}

	out, err := run("./ok arg")
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Mounts) != 1 || out.Env[0].String() != "MOD=m:arg" || len(out.Warnings) != 1 || out.Warnings[0] != "note" {
		t.Errorf("ok: %+v", out)
	}
	if out, err := run("pcocc env FOO=bar"); err != nil || out.Env[0].String() != "FOO=bar" {
		t.Errorf(`"pcocc" is not this pcocc: %+v, %v`, out, err)
	}

	errs := []struct{ gen, want string }{
		{"./fails", `module "m": generator "./fails": failed (exit status 3): no driver here`},
		{"./hangs", `module "m": generator "./hangs": did not finish within 500ms: killed`},
		{"./garbage", `module "m": generator "./garbage": output line 2: "Segmentation fault": expected`},
		{"./missing", `module "m": generator "./missing": failed: fork/exec ` + dir + `/missing: no such file or directory`},
		{"no-such-program-anywhere", `module "m": generator "no-such-program-anywhere": exec: "no-such-program-anywhere": executable file not found`},
	}
	for _, e := range errs {
		start := time.Now()
		_, err := run(e.gen)
		if err == nil || !strings.HasPrefix(err.Error(), e.want) {
			t.Errorf("%s: %v, want %q...", e.gen, err, e.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %s: the generator's children kept it waiting", e.gen, d)
		}
	}
}

func TestGeneratorTimeoutOfTheModuleWins(t *testing.T) {
	g := &Generators{Timeout: time.Hour}
	m := config.Module{GeneratorTimeout: time.Second}
	if got := g.timeout(m); got != time.Second {
		t.Errorf("timeout = %s", got)
	}
	if got := (&Generators{}).timeout(config.Module{}); got != DefaultTimeout {
		t.Errorf("default timeout = %s", got)
	}
}
