//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/testutil"
)

// programHome gives the test a configuration with the seed's module and
// template, and no other.
func programHome(t *testing.T) string {
	t.Helper()
	home := testutil.Home(t)
	testutil.WriteFile(t, filepath.Join(testutil.ConfigDir(home), "containers.yaml"), `modules:
  my_module: {env: [MODVAR=1]}
containers:
  my_template: {rootfs: img, modules: [my_module]}
`)
	return home
}

// dryRunRoot runs `pcocc run --dry-run ARGS` through the whole command tree
// (root options included) and returns the plan and the root's -v.
func dryRunRoot(t *testing.T, args ...string) (spec *container.Spec, verbose bool, out string, err error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	g := &Globals{Stdout: &stdout, Stderr: &stderr}
	root := newRoot("pcocc", g)
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"run", "--dry-run"}, args...))
	if err = root.ExecuteContext(context.Background()); err != nil {
		return nil, g.Verbose, stdout.String(), err
	}
	var s container.Spec
	if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
		return nil, g.Verbose, stdout.String(), nil // help, not a plan
	}
	return &s, g.Verbose, stdout.String(), nil
}

// TestProgramArguments: pcocc's options before or after the image, the
// program's from its first word on. Every `run` line of the user
// documentation (seed), and the examples of docker/apptainer habits.
func TestProgramArguments(t *testing.T) {
	home := programHome(t)
	withImages(t, home, imagemeta.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"c"}})
	t.Setenv("VARIABLE_TEST", "v")
	src := filepath.Join(home, "src")
	sqfs := filepath.Join(home, "data.sqfs")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, sqfs, "")
	tests := []struct {
		name    string
		args    []string
		argv    []string
		env     []string // entries the env must hold
		noEnv   []string // names it must not hold
		mount   string   // a mount destination the plan must hold
		verbose bool
	}{
		// virtualisation.txt, every `pcocc-rs run` line
		{name: "seed: run image args", args: []string{"my_pcocc_image", "arg1", "arg2"}, argv: []string{"/ep", "arg1", "arg2"}},
		{name: "seed: --mount then --", args: []string{"my_pcocc_image", "--mount", "src=" + src + ",dst=/target", "--", "cmd", "-x"}, argv: []string{"/ep", "cmd", "-x"}, mount: "/target"},
		{name: "seed: squashfs mount", args: []string{"my_pcocc_image", "--mount", "src=" + sqfs + ",dst=/sq,type=squashfs", "--", "cmd"}, argv: []string{"/ep", "cmd"}, mount: "/sq"},
		{name: "seed: --env then --", args: []string{"my_pcocc_image", "--env", "VARIABLE_TEST", "--", "cmd"}, argv: []string{"/ep", "cmd"}, env: []string{"VARIABLE_TEST=v"}},
		{name: "seed: --ctr-module then cmd with options", args: []string{"my_pcocc_image", "--ctr-module", "my_module", "cmd", "-l"}, argv: []string{"/ep", "cmd", "-l"}, env: []string{"MODVAR=1"}},
		{name: "seed: template then --", args: []string{"my_template", "--", "cmd", "-l"}, argv: []string{"/ep", "cmd", "-l"}, env: []string{"MODVAR=1"}},
		{name: "seed: repo:image", args: []string{"myrepo:myimage"}, argv: []string{"/ep", "c"}},
		{name: "seed: --no-defaults before the image", args: []string{"--no-defaults", "my_pcocc_image", "cmd"}, argv: []string{"/ep", "cmd"}},
		// the examples
		{name: "ls -l", args: []string{"img", "ls", "-l"}, argv: []string{"/ep", "ls", "-l"}},
		{name: "sh -c", args: []string{"img", "sh", "-c", "echo x; ls -l"}, argv: []string{"/ep", "sh", "-c", "echo x; ls -l"}},
		{name: "python3 -u", args: []string{"img", "python3", "-u", "a.py"}, argv: []string{"/ep", "python3", "-u", "a.py"}},
		{name: "-v after the command is the program's", args: []string{"img", "ls", "-v", "/etc"}, argv: []string{"/ep", "ls", "-v", "/etc"}},
		{name: "-v before the command is pcocc's", args: []string{"img", "-v", "ls"}, argv: []string{"/ep", "ls"}, verbose: true},
		{name: "template, program options", args: []string{"my_template", "ls", "-l"}, argv: []string{"/ep", "ls", "-l"}, env: []string{"MODVAR=1"}},
		{name: "template, options after it", args: []string{"my_template", "-e", "A=1", "ls", "-e", "B=2"}, argv: []string{"/ep", "ls", "-e", "B=2"}, env: []string{"A=1", "MODVAR=1"}, noEnv: []string{"B"}},
		{name: "--help after the command", args: []string{"img", "ls", "--help"}, argv: []string{"/ep", "ls", "--help"}},
		{name: "-- gives the entrypoint options", args: []string{"img", "--", "--help"}, argv: []string{"/ep", "--help"}},
		{name: "-- before the image", args: []string{"--", "img", "-e", "X"}, argv: []string{"/ep", "-e", "X"}, noEnv: []string{"X"}},
		{name: "--no-ep after the image", args: []string{"img", "--no-ep", "sh", "-c", "x"}, argv: []string{"sh", "-c", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, verbose, out, err := dryRunRoot(t, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if s == nil {
				t.Fatalf("no plan:\n%s", out)
			}
			if diff := cmp.Diff(tt.argv, s.Argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
			for _, e := range tt.env {
				if !slices.Contains(s.Env, e) {
					t.Errorf("env lacks %q: %q", e, s.Env)
				}
			}
			for _, n := range tt.noEnv {
				if slices.ContainsFunc(s.Env, func(e string) bool { return strings.HasPrefix(e, n+"=") }) {
					t.Errorf("env holds %s: %q", n, s.Env)
				}
			}
			if tt.mount != "" && !slices.ContainsFunc(s.Mounts, func(m container.Mount) bool { return m.Destination == tt.mount }) {
				t.Errorf("no mount on %s: %+v", tt.mount, s.Mounts)
			}
			if verbose != tt.verbose {
				t.Errorf("verbose %v, want %v", verbose, tt.verbose)
			}
		})
	}
}

func TestProgramArgumentsHelp(t *testing.T) {
	home := programHome(t)
	withImages(t, home, imagemeta.Config{Cmd: []string{"c"}})
	_, _, out, err := dryRunRoot(t, "img", "--help")
	if err != nil || !strings.Contains(out, "Usage:") {
		t.Fatalf("pcocc run img --help: err %v, out:\n%s", err, out)
	}
}

func TestProgramArgumentsErrors(t *testing.T) {
	home := programHome(t)
	withImages(t, home, imagemeta.Config{Cmd: []string{"c"}})
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no image or template named"},
		{[]string{"img", "--bogus", "ls"}, "put them after '--'"},
		{[]string{"img", "-e"}, "flag needs an argument"},
	}
	for _, tt := range tests {
		_, _, _, err := dryRunRoot(t, tt.args...)
		if exitcode.Of(err) != exitcode.Setup || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q: code %d, err %v; want 125 and %q", tt.args, exitcode.Of(err), err, tt.want)
		}
	}
}
