//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// execute runs pcocc with args and returns stdout and the exit code.
func execute(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := NewRoot("pcocc")
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		out.WriteString(err.Error())
	}
	return out.String(), exitcode.Of(err)
}

func TestHelp(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"help", "slurm"}, 0, []string{"slurm - running containers", "--ctr-workdir=DIR"}},
		{[]string{"help", "environment"}, 0, []string{"pp(VAR)=VAL", "PCOCC_CHECK_FUSE_DEV"}},
		{[]string{"help", "image", "list"}, 0, []string{"Usage:", "pcocc image list"}},
		{[]string{"help"}, 0, []string{"Available Commands:", "Help topics", "repositories"}},
		{[]string{"--help"}, 0, []string{"Help topics", "templates"}},
		{[]string{"help", "nope"}, 2, []string{`no help topic or command "nope" (topics: containers, docker-env, environment, modules, repositories, slurm, templates, templates-yaml, vm-images, vms;`}},
		{[]string{"help", "image", "nope"}, 2, []string{"no help topic or command"}},
	}
	for _, c := range cases {
		out, code := execute(t, c.args...)
		if code != c.code {
			t.Errorf("%q: exit code %d, want %d", c.args, code, c.code)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output does not contain %q:\n%s", c.args, w, out)
			}
		}
	}
	// Topics are listed only in the root's usage.
	if out, _ := execute(t, "image", "--help"); strings.Contains(out, "Help topics") {
		t.Errorf("image --help lists the help topics:\n%s", out)
	}
	if out, _ := execute(t, "help", "nope"); strings.Count(out, "\n") > 0 {
		t.Errorf("unknown topic: more than one line: %q", out)
	}
}
