package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// The original pcocc's repos.yaml is read next to repositories.yaml: its
// list is merged, its path templates expanded, and a notice names it.
func TestReposYAMLMerged(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"home/.config/pcocc/repos.yaml": "repos:\n  - name: old\n    path: \"%{homedir}/.pcocc/images\"\n" +
			"  - name: proj\n    path: /%{env:PROJ}/images\ncache:\n  path: /tmp/cache\n",
		"home/.config/pcocc/repositories.yaml": "repositories:\n  new:\n    path: ROOT/new\n",
	})
	repos, err := c.Repositories()
	if err != nil {
		t.Fatal(err)
	}
	// A variable unset on this node makes the repository unavailable here,
	// as in repositories.yaml.
	for _, r := range repos {
		if r.Name != "proj" {
			continue
		}
		if err := r.Available(); err == nil || !strings.Contains(err.Error(), "$PROJ is not set") {
			t.Fatalf("unset %%{env:PROJ}: %v", err)
		}
	}
	l = newLayout(t)
	l.env["PROJ"] = l.root
	c = l.load(t, map[string]string{
		"home/.pcocc/README": "the original pcocc's directory",
		"home/.config/pcocc/repos.yaml": "repos:\n  - name: old\n    path: \"%{homedir}/.pcocc/images\"\n" +
			"  - name: proj\n    path: \"%{env:PROJ}/images\"\n",
		"home/.config/pcocc/repositories.yaml": "repositories:\n  new:\n    path: ROOT/new\n",
	})
	if repos, err = c.Repositories(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range repos {
		got[r.Name] = r.Path
	}
	if got["old"] != filepath.Join(l.home, ".pcocc/images") || got["proj"] != filepath.Join(l.root, "images") || got["new"] == "" {
		t.Errorf("repositories = %v", got)
	}
	n := c.Notices()
	if len(n) != 1 || !strings.Contains(n[0].Text, "repos.yaml (the original pcocc's file)") || !strings.Contains(n[0].Text, "old, proj") {
		t.Errorf("notices = %+v", n)
	}
}

// A name defined in repos.yaml and repositories.yaml of one directory is an
// error naming both places.
func TestReposYAMLConflict(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"home/.config/pcocc/repos.yaml":        "repos:\n  - name: old\n    path: /x\n",
		"home/.config/pcocc/repositories.yaml": "repositories:\n  old:\n    path: /y\n",
	})
	_, err := c.Repositories()
	wantErr(t, l.root, err, "home/.config/pcocc/repos.yaml", 2, 11,
		`repository "old" is already defined at `+filepath.Join(l.root, "home/.config/pcocc/repositories.yaml")+":2:3")
}

func TestReposYAMLErrors(t *testing.T) {
	for body, want := range map[string]string{
		"repos:\n  - name: a\n":                         `"name" and "path" are both required`,
		"repos:\n  - name: a\n    path: /x\n    z: 1\n": `unknown key "z"`,
		"repos:\n  - name: a\n    path: /%{vm_rank}\n":  `%{vm_rank} cannot be expanded`,
		"repositories: {}\n":                            `unknown key "repositories"`,
	} {
		l := newLayout(t)
		c := l.load(t, map[string]string{"home/.config/pcocc/repos.yaml": body})
		_, err := c.Repositories()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "repos.yaml:") {
			t.Errorf("%q: %v (want %q at file:line:col)", body, err, want)
		}
	}
}
