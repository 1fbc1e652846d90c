//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/testutil"
)

// withImages publishes, in real repositories of home, the images the run
// tests name: img and my_pcocc_image in the user repository, myimage in
// myrepo, each with cfg as its configuration.
func withImages(t *testing.T, home string, cfg imagemeta.Config) {
	t.Helper()
	myrepo := filepath.Join(home, "myrepo")
	testutil.WriteFile(t, filepath.Join(testutil.ConfigDir(home), "repositories.yaml"),
		"repositories:\n  myrepo: {path: "+myrepo+"}\n")
	testutil.Publish(t, config.UserRepo, testutil.UserRepo(home), testutil.Runnable(cfg), "img", "my_pcocc_image")
	testutil.Publish(t, "myrepo", myrepo, testutil.Runnable(cfg), "myimage")
}

func dryRun(t *testing.T, args ...string) (*container.Spec, error) {
	t.Helper()
	root := NewRoot("pcocc")
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"run", "--dry-run"}, args...))
	// NewRoot's Globals write to os.Stdout; capture through the command.
	g := &Globals{Stdout: &out, Stderr: &errOut}
	root.RemoveCommand(findCmd(root, "run"))
	root.AddCommand(newRunCmd(g))
	err := root.ExecuteContext(context.Background())
	if err != nil {
		return nil, err
	}
	var s container.Spec
	if jerr := json.Unmarshal(out.Bytes(), &s); jerr != nil {
		t.Fatalf("dry-run output is not a spec: %v\n%s", jerr, out.String())
	}
	return &s, nil
}

func findCmd(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func TestRunOptionParsing(t *testing.T) {
	withImages(t, programHome(t), imagemeta.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"c"}})
	t.Setenv("PCOCC_TEST_VAR", "v")
	tests := []struct {
		name     string
		args     []string
		argv     []string
		env      string // an entry the env must hold
		mountDst string
	}{
		{name: "image only", args: []string{"img"}, argv: []string{"/ep", "c"}},
		{name: "command and args", args: []string{"img", "ls", "x"}, argv: []string{"/ep", "ls", "x"}},
		{name: "program options after --", args: []string{"img", "--", "ls", "-l"}, argv: []string{"/ep", "ls", "-l"}},
		{name: "-- after the command is the program's", args: []string{"img", "ls", "--", "-l"}, argv: []string{"/ep", "ls", "--", "-l"}},
		{name: "options after the image are pcocc's", args: []string{"img", "--env", "PCOCC_TEST_VAR", "ls"}, argv: []string{"/ep", "ls"}, env: "PCOCC_TEST_VAR=v"},
		{name: "options after the command are the program's", args: []string{"img", "-e", "A=1", "ls", "-e", "B=2"}, argv: []string{"/ep", "ls", "-e", "B=2"}, env: "A=1"},
		{name: "pcocc options after -- are the program's", args: []string{"img", "--", "sh", "-e", "A=1"}, argv: []string{"/ep", "sh", "-e", "A=1"}},
		{name: "no-ep", args: []string{"--no-ep", "img", "--", "sh", "-c", "x"}, argv: []string{"sh", "-c", "x"}},
		{name: "entrypoint", args: []string{"img", "--entrypoint", "/bin/x", "a"}, argv: []string{"/bin/x", "a"}},
		{name: "empty entrypoint", args: []string{"img", "--entrypoint=", "ls"}, argv: []string{"ls"}},
		{name: "mount", args: []string{"img", "--mount", "src=/a,dst=/b,ro:src=/c,dst=/d"}, argv: []string{"/ep", "c"}, mountDst: "/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := dryRun(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.argv, s.Argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
			if tt.env != "" && !strings.Contains(strings.Join(s.Env, "\n")+"\n", tt.env+"\n") {
				t.Errorf("env lacks %q: %q", tt.env, s.Env)
			}
			if tt.mountDst != "" && s.Mounts[len(s.Mounts)-1].Destination != tt.mountDst {
				t.Errorf("mounts: %+v", s.Mounts)
			}
		})
	}
}

func TestRunErrorsAre125(t *testing.T) {
	withImages(t, programHome(t), imagemeta.Config{Cmd: []string{"c"}})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `image "nope" not found`},
		{[]string{"img", "-l", "ls"}, "put them after '--'"},
		{[]string{"img", "--env", "pp(X"}, "--env: bad env spec"},
		{[]string{"img", "--mount", "src=/a,dst=rel"}, "not an absolute path"},
		{[]string{"img", "--mount", "src=/a,dst=/proc"}, "/proc"},
		{[]string{"-M", "m", "img"}, `unknown module "m"`},
		{[]string{"--module", "m2", "img"}, `unknown module "m2"`},
		{[]string{"--no-ep", "--entrypoint", "x", "img"}, "cannot be used together"},
	}
	for _, tt := range tests {
		_, err := dryRun(t, tt.args...)
		if exitcode.Of(err) != exitcode.Setup || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q: code %d, err %v; want 125 and %q", tt.args, exitcode.Of(err), err, tt.want)
		}
	}
}

func TestRunNoCommand(t *testing.T) {
	withImages(t, programHome(t), imagemeta.Config{})
	_, err := dryRun(t, "img")
	if exitcode.Of(err) != exitcode.Setup || !strings.Contains(err.Error(), "no entrypoint and no command") {
		t.Fatalf("code %d err %v", exitcode.Of(err), err)
	}
}

func TestInitIsRegistered(t *testing.T) {
	if _, ok := internalEntries["__pcocc_init"]; !ok {
		t.Fatal("the container init entry is not registered")
	}
}

// With no configuration, the built-in "home" module mounts the home
// directory and passes the minimal environment; --no-defaults drops both.
func TestRunBuiltinHomeModule(t *testing.T) {
	home := programHome(t)
	withImages(t, home, imagemeta.Config{Cmd: []string{"c"}})
	for k, v := range map[string]string{"USER": "u", "LOGNAME": "u", "TERM": "xterm", "LANG": "C.UTF-8", "LC_TIME": "C", "TZ": "UTC", "SECRET": "s"} {
		t.Setenv(k, v)
	}
	hasHome := func(s *container.Spec) bool {
		for _, m := range s.Mounts {
			if m.Destination == home && m.Source == home {
				return true
			}
		}
		return false
	}
	s, _, _, err := dryRunRoot(t, "img")
	if err != nil {
		t.Fatal(err)
	}
	if !hasHome(s) {
		t.Errorf("home %s not mounted: %+v", home, s.Mounts)
	}
	for _, e := range []string{"HOME=" + home, "USER=u", "LOGNAME=u", "TERM=xterm", "LANG=C.UTF-8", "LC_TIME=C", "TZ=UTC"} {
		if !slices.Contains(s.Env, e) {
			t.Errorf("env lacks %s: %q", e, s.Env)
		}
	}
	if slices.Contains(s.Env, "SECRET=s") {
		t.Errorf("env holds SECRET: %q", s.Env)
	}
	s, _, _, err = dryRunRoot(t, "--no-defaults", "img")
	if err != nil {
		t.Fatal(err)
	}
	if hasHome(s) || slices.Contains(s.Env, "TERM=xterm") {
		t.Errorf("--no-defaults: the built-in module applied: %+v %q", s.Mounts, s.Env)
	}
}
