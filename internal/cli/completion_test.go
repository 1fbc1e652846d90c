//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/testutil"
)

// testHome gives the test a fresh HOME holding a configuration with a
// module, a template and a "shared" repository, and publishes images:
// "alpha" and "beta" in the user repository, "alpha" and "gamma" in shared.
func testHome(t *testing.T) string {
	t.Helper()
	home := testutil.Home(t)
	conf := testutil.ConfigDir(home)
	testutil.WriteFile(t, filepath.Join(conf, "repositories.yaml"),
		"repositories:\n  shared:\n    path: "+filepath.Join(home, "shared")+"\n    description: the team's\n")
	testutil.WriteFile(t, filepath.Join(conf, "containers.yaml"), "modules:\n  tools: {description: my tools}\n  toolbox: {}\n"+
		"containers:\n  tpl: {rootfs: alpha, description: a template}\n")
	testutil.Publish(t, config.UserRepo, testutil.UserRepo(home), imagemeta.Meta{}, "alpha", "beta")
	testutil.Publish(t, "shared", filepath.Join(home, "shared"), imagemeta.Meta{}, "alpha", "gamma")
	return home
}

// complete runs cobra's hidden __complete command and returns the
// completions (descriptions dropped) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	root := NewRoot("pcocc")
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %v: %v (%s)", args, err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var names []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		names = append(names, name)
	}
	return names, lines[len(lines)-1]
}

func TestDynamicCompletion(t *testing.T) {
	testHome(t)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"image", "show", ""}, []string{"alpha", "user:alpha", "user:beta", "beta", "shared:alpha", "gamma", "shared:gamma"}},
		{[]string{"image", "show", "g"}, []string{"gamma"}},
		{[]string{"image", "show", "shared:"}, []string{"shared:alpha", "shared:gamma"}},
		{[]string{"image", "show", "alpha", ""}, nil},
		{[]string{"image", "delete", "alpha", "b"}, []string{"beta"}},
		{[]string{"image", "copy", "alpha", "s"}, []string{"shared:"}},
		{[]string{"image", "list", "--repo", ""}, []string{"user", "shared"}},
		{[]string{"image", "list", "-r", "sh"}, []string{"shared"}},
		{[]string{"image", "repo", "gc", ""}, []string{"user", "shared"}},
		{[]string{"image", "repo", "gc", "user", ""}, nil},
		{[]string{"help", "mod"}, []string{"modules", "module"}},
		{[]string{"help", "image", "sh"}, []string{"show"}},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		// pcocc's options may follow the image: completed there too
		{[]string{"run", "alpha", "--en"}, []string{"--entrypoint", "--env"}},
		{[]string{"run", "alpha", "-M", "too"}, []string{"tools", "toolbox"}},
		{[]string{"run", "--no-ep", "be"}, []string{"beta"}},
	}
	for _, c := range cases {
		got, _ := complete(t, c.args...)
		if !sameSet(got, c.want) {
			t.Errorf("complete %q: got %q, want %q", c.args, got, c.want)
		}
	}
}

// The helpers that the run command and others attach, called directly.
func TestCompletionHelpers(t *testing.T) {
	testHome(t)
	g := &Globals{Stdout: os.Stdout, Stderr: os.Stderr}
	call := func(f cobra.CompletionFunc, toComplete string) []string {
		got, _ := f(nil, nil, toComplete)
		for i, n := range got {
			got[i], _, _ = strings.Cut(n, "\t")
		}
		return got
	}
	for _, c := range []struct {
		name       string
		f          cobra.CompletionFunc
		toComplete string
		want       []string
	}{
		{"run target", completeRunTarget(g), "t", []string{"tpl"}},
		{"run target", completeRunTarget(g), "be", []string{"beta"}},
		{"modules", completeModules(g), "tools,to", []string{"tools,tools", "tools,toolbox"}},
		{"templates", completeTemplates(g), "", []string{"tpl", "host-passthrough"}},
		{"repositories", completeRepos(g), "", []string{"user", "shared"}},
	} {
		if got := call(c.f, c.toComplete); !sameSet(got, c.want) {
			t.Errorf("%s %q: got %q, want %q", c.name, c.toComplete, got, c.want)
		}
	}
}

// Completing must not create the user repository.
func TestCompletionCreatesNothing(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PCOCC_SYSTEM_CONF_DIR", filepath.Join(home, "etc"))
	if got, _ := complete(t, "image", "show", ""); len(got) != 0 {
		t.Errorf("got %q from no repository", got)
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "share", "pcocc", "images")); err == nil {
		t.Error("completion created the user repository")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
