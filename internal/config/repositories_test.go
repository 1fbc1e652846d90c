package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoSummary is what the merge tests compare: name, path, defining file.
type repoSummary struct{ Name, Path, File string }

func summarize(root string, repos []Repository) []repoSummary {
	var out []repoSummary
	for _, r := range repos {
		file := r.Source.File
		if rel, err := filepath.Rel(root, file); err == nil && file != "" {
			file = rel
		}
		out = append(out, repoSummary{r.Name, r.Path, file})
	}
	return out
}

func repoYAML(entries string) string { return "repositories:\n" + entries }

func TestRepositoriesMergeAndOrder(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string // added to the layout's environment
		want  []repoSummary
	}{
		{
			name:  "built-in user only",
			files: map[string]string{},
			want:  []repoSummary{{"user", "ROOT/home/.local/share/pcocc/images", ""}},
		},
		{
			name:  "XDG_DATA_HOME moves user",
			files: map[string]string{},
			env:   map[string]string{"XDG_DATA_HOME": "ROOT/data"},
			want:  []repoSummary{{"user", "ROOT/data/pcocc/images", ""}},
		},
		{
			name: "search order: user, user dir, path dirs last first, system",
			files: map[string]string{
				"etc/repositories.yaml":                        repoYAML("  site:\n    path: ROOT/site\n"),
				"p1/repositories.yaml":                         repoYAML("  one:\n    path: ROOT/one\n"),
				"p2/repositories.yaml":                         repoYAML("  two:\n    path: ROOT/two\n"),
				"home/.config/pcocc/repositories.yaml":         repoYAML("  mine:\n    path: ROOT/mine\n"),
				"home/.config/pcocc/repositories.d/b.yaml":     repoYAML("  b:\n    path: ROOT/b\n"),
				"home/.config/pcocc/repositories.d/a.yaml":     repoYAML("  a:\n    path: ROOT/a\n"),
				"home/.config/pcocc/repositories.d/.swp.yaml":  "not: [valid",
				"home/.config/pcocc/repositories.d/README.txt": "ignored",
			},
			want: []repoSummary{
				{"user", "ROOT/home/.local/share/pcocc/images", ""},
				{"mine", "ROOT/mine", "home/.config/pcocc/repositories.yaml"},
				{"a", "ROOT/a", "home/.config/pcocc/repositories.d/a.yaml"},
				{"b", "ROOT/b", "home/.config/pcocc/repositories.d/b.yaml"},
				{"two", "ROOT/two", "p2/repositories.yaml"},
				{"one", "ROOT/one", "p1/repositories.yaml"},
				{"site", "ROOT/site", "etc/repositories.yaml"},
			},
		},
		{
			name: "higher priority replaces: later PCOCC_CONFIG_PATH dir wins, user dir wins over all",
			files: map[string]string{
				"etc/repositories.yaml":                repoYAML("  shared:\n    path: ROOT/sys\n  proj:\n    path: ROOT/sysproj\n"),
				"p1/repositories.yaml":                 repoYAML("  shared:\n    path: ROOT/p1\n"),
				"p2/repositories.yaml":                 repoYAML("  shared:\n    path: ROOT/p2\n"),
				"home/.config/pcocc/repositories.yaml": repoYAML("  proj:\n    path: ROOT/mine\n"),
			},
			want: []repoSummary{
				{"user", "ROOT/home/.local/share/pcocc/images", ""},
				{"proj", "ROOT/mine", "home/.config/pcocc/repositories.yaml"},
				{"shared", "ROOT/p2", "p2/repositories.yaml"},
			},
		},
		{
			name: "user repository overridden by a file, still searched first",
			files: map[string]string{
				"etc/repositories.yaml": repoYAML("  site:\n    path: ROOT/site\n  user:\n    path: ${SCRATCH}/images\n"),
			},
			env: map[string]string{"SCRATCH": "ROOT/scratch"},
			want: []repoSummary{
				{"user", "ROOT/scratch/images", "etc/repositories.yaml"},
				{"site", "ROOT/site", "etc/repositories.yaml"},
			},
		},
		{
			name: "expansion of ~ and $VAR",
			files: map[string]string{
				"home/.config/pcocc/repositories.yaml": repoYAML("  t:\n    path: ~/imgs\n  v:\n    path: $WORK/x/../imgs\n"),
			},
			env: map[string]string{"WORK": "ROOT/work"},
			want: []repoSummary{
				{"user", "ROOT/home/.local/share/pcocc/images", ""},
				{"t", "ROOT/home/imgs", "home/.config/pcocc/repositories.yaml"},
				{"v", "ROOT/work/imgs", "home/.config/pcocc/repositories.yaml"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			for _, d := range []string{"site", "work", "scratch", "data"} {
				writeFiles(t, l.root, map[string]string{d + "/.keep": ""})
			}
			for k, v := range tc.env {
				l.env[k] = replaceRoot(v, l.root)
			}
			c := l.load(t, tc.files)
			got, err := c.Repositories()
			if err != nil {
				t.Fatalf("Repositories(): %v", err)
			}
			var want []repoSummary
			for _, w := range tc.want {
				want = append(want, repoSummary{w.Name, replaceRoot(w.Path, l.root), w.File})
			}
			if diff := cmp.Diff(want, summarize(l.root, got)); diff != "" {
				t.Errorf("Repositories() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepositoryErrors(t *testing.T) {
	const user = "home/.config/pcocc/"
	tests := []struct {
		name      string
		files     map[string]string
		file      string
		line, col int
		msg       string
	}{
		{"unknown key with suggestion", map[string]string{user + "repositories.yaml": repoYAML("  myrepo:\n    pth: /x\n")},
			user + "repositories.yaml", 3, 5, `repository "myrepo": unknown key "pth" (did you mean "path"?)`},
		{"unknown key without suggestion", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    path: ROOT\n    colour: red\n")},
			user + "repositories.yaml", 4, 5, `unknown key "colour" (expected one of: path, description, keep_layers, mount)`},
		{"unknown mount", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    path: ROOT\n    mount: squashfuse\n")},
			user + "repositories.yaml", 4, 12, `repository "r": mount: unknown value "squashfuse" (expected one of: auto, kernel, unpack, fuse)`},
		{"mount not a string", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    path: ROOT\n    mount: [kernel]\n")},
			user + "repositories.yaml", 4, 12, `repository "r": mount: expected a string, found a list`},
		{"keep_layers not a boolean", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    path: ROOT\n    keep_layers: no\n")},
			user + "repositories.yaml", 4, 18, `repository "r": keep_layers: expected true or false, found the string "no"`},
		{"unknown top-level key", map[string]string{user + "repositories.yaml": "repository:\n  r: {}\n"},
			user + "repositories.yaml", 1, 1, `unknown key "repository" (did you mean "repositories"?)`},
		{"wrong type for path", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    path: [a, b]\n")},
			user + "repositories.yaml", 3, 11, `repository "r": path: expected a string, found a list`},
		{"wrong type for repositories", map[string]string{user + "repositories.yaml": "repositories: [a]\n"},
			user + "repositories.yaml", 1, 15, "expected a mapping of repository names, found a list"},
		{"top level is a list", map[string]string{user + "repositories.yaml": "- a\n"},
			user + "repositories.yaml", 1, 1, "expected a mapping of repositories, found a list"},
		{"missing path", map[string]string{user + "repositories.yaml": repoYAML("  r:\n    description: d\n")},
			user + "repositories.yaml", 2, 3, `repository "r": missing key "path"`},
		{"bad name", map[string]string{user + "repositories.yaml": repoYAML("  my.repo:\n    path: ROOT\n")},
			user + "repositories.yaml", 2, 3, `bad repository name: repository name "my.repo" contains '.'`},
		{"bad YAML", map[string]string{"p1/repositories.yaml": repoYAML("  r:\n    path: [ROOT\n")},
			"p1/repositories.yaml", 3, 11, "invalid YAML: "},
		{"tab indentation", map[string]string{"p1/repositories.yaml": "repositories:\n\tr: {}\n"},
			"p1/repositories.yaml", 2, 1, "(YAML indents with spaces, not tabs: use spaces)"},
		{"duplicate key in one mapping", map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: /a\n  r:\n    path: /b\n")},
			"etc/repositories.yaml", 4, 3, `invalid YAML: mapping key "r" already defined at [2:3]`},
		{"duplicate at same priority", map[string]string{
			"p1/repositories.yaml":        repoYAML("  r:\n    path: ROOT/a\n"),
			"p1/repositories.d/more.yaml": repoYAML("\n  r:\n    path: ROOT/b\n")},
			"p1/repositories.d/more.yaml", 3, 3, `repository "r" is already defined at ROOT/p1/repositories.yaml:2:3 (same priority)`},
		{"relative path", map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: images\n")},
			"etc/repositories.yaml", 3, 11, `path "images": not an absolute path`},
		{"empty path", map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: ''\n")},
			"etc/repositories.yaml", 3, 11, "empty path"},
		{"bad variable syntax", map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: ${A\n")},
			"etc/repositories.yaml", 3, 11, "unterminated"},
		{"two documents", map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: ROOT\n---\nx: 1\n")},
			"etc/repositories.yaml", 5, 2, "one YAML document, found 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			c := l.load(t, tc.files)
			_, err := c.Repositories()
			wantErr(t, l.root, err, tc.file, tc.line, tc.col, replaceRoot(tc.msg, l.root))
			if _, err := c.Repository("user"); err == nil {
				t.Error("Repository(user) succeeded despite a broken repositories configuration")
			}
		})
	}
}

func TestKeepLayers(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML(
		"  kept:\n    path: ROOT/a\n  dropped:\n    path: ROOT/b\n    keep_layers: false\n" +
			"  explicit:\n    path: ROOT/c\n    keep_layers: true\n  nothing:\n    path: ROOT/d\n    keep_layers:\n")})
	repos, err := c.Repositories()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range repos {
		got[r.Name] = r.DropLayers
	}
	want := map[string]bool{"user": false, "kept": false, "dropped": true, "explicit": false, "nothing": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DropLayers (-want +got):\n%s", diff)
	}
}

func TestRepoMount(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML(
		"  none:\n    path: ROOT/a\n  k:\n    path: ROOT/b\n    mount: kernel\n  f:\n    path: ROOT/c\n    mount: fuse\n")})
	for name, want := range map[string]string{"user": "", "none": "", "k": "kernel", "f": "fuse"} {
		if r, err := c.Repository(name); err != nil || r.Mount != want {
			t.Errorf("Repository(%q): Mount %q, %v; want %q", name, r.Mount, err, want)
		}
	}
}

func TestOverriddenParentNotChecked(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"etc/repositories.yaml":                repoYAML("  r:\n    path: ROOT/gone/images\n"),
		"home/.config/pcocc/repositories.yaml": repoYAML("  r:\n    path: ROOT/images\n"),
	})
	r, err := c.Repository("r")
	if err != nil || r.Path != filepath.Join(l.root, "images") {
		t.Fatalf("Repository(r) = %+v, %v; want the user definition", r, err)
	}
}

func TestUserRepositoryWithoutHome(t *testing.T) {
	root := t.TempDir()
	env := map[string]string{"PCOCC_SYSTEM_CONF_DIR": filepath.Join(root, "etc")}
	c := Load(DefaultDirs(envMap(env)), envMap(env))
	repos, err := c.Repositories()
	if err != nil || len(repos) != 0 {
		t.Fatalf("Repositories() = %v, %v; want none and no error", repos, err)
	}
	if _, err := c.Repository("user"); !errors.Is(err, ErrNoHome) {
		t.Fatalf("Repository(user) error = %v; want ErrNoHome", err)
	}

	writeFiles(t, root, map[string]string{"etc/repositories.yaml": repoYAML("  user:\n    path: " + root + "/u\n")})
	c = Load(DefaultDirs(envMap(env)), envMap(env))
	if r, err := c.Repository("user"); err != nil || r.Path != root+"/u" {
		t.Fatalf("Repository(user) = %+v, %v; want the configured one", r, err)
	}
}

func TestRepositoryNotFound(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML("  site:\n    path: ROOT/site\n")})
	_, err := c.Repository("nope")
	if !errors.Is(err, ErrNotFound) || err.Error() != `repository "nope": not defined (known: user, site)` {
		t.Fatalf("Repository(nope) error = %v", err)
	}
}

// Every error of a file is reported, in file order, each with its position.
func TestAllErrorsReportedInOrder(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML(
		"  a:\n    description: no path\n  b:\n    path: rel\n  c:\n    pth: /x\n")})
	_, err := c.Repositories()
	file := filepath.Join(l.sys, "repositories.yaml")
	want := file + `:2:3: repository "a": missing key "path"` + "\n" +
		file + `:5:11: repository "b": path "rel": not an absolute path` + "\n" +
		file + `:7:5: repository "c": unknown key "pth" (did you mean "path"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

func TestSourceString(t *testing.T) {
	tests := []struct {
		src  Source
		want string
	}{
		{Source{}, "built-in"},
		{Source{File: "/f"}, "/f"},
		{Source{File: "/f", Line: 3, Col: 5}, "/f:3:5"},
	}
	for _, tc := range tests {
		if got := tc.src.String(); got != tc.want {
			t.Errorf("%#v.String() = %q; want %q", tc.src, got, tc.want)
		}
	}
}

// A repository this node cannot reach is not a configuration error: it
// loads, and Available says why it cannot be used, at its definition.
func TestUnavailableRepositories(t *testing.T) {
	tests := []struct {
		name, path string
		env        map[string]string // replaces the layout's environment
		msg        string            // "" if available
	}{
		{"parent missing", "ROOT/nope/images", nil, `parent directory "ROOT/nope" of "ROOT/nope/images" does not exist`},
		{"parent is a file", "ROOT/etc/repositories.yaml/x", nil, "is not a directory"},
		{"path is a file", "ROOT/etc/repositories.yaml", nil, `"ROOT/etc/repositories.yaml" is not a directory`},
		{"unset variable", "$PROJECT/images", nil, `path "$PROJECT/images": $PROJECT is not set`},
		{"tilde without home", "~/images", map[string]string{}, `path "~/images": expanding "~": no home directory`},
		{"missing, parent exists", "ROOT/new", nil, ""},
		{"existing directory", "ROOT/etc", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			if tc.env != nil {
				l.env = tc.env
				l.env["PCOCC_SYSTEM_CONF_DIR"] = l.sys
			}
			c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: " + tc.path + "\n")})
			if _, err := c.Repositories(); err != nil {
				t.Fatalf("Repositories() error = %v; availability is not a configuration error", err)
			}
			r, err := c.Repository("r")
			if err != nil {
				t.Fatal(err)
			}
			checkAvailable(t, r, filepath.Join(l.sys, "repositories.yaml")+":2:3", replaceRoot(tc.msg, l.root))
		})
	}
}

func TestUnreadableRepository(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a mode 000 directory")
	}
	l := newLayout(t)
	locked := filepath.Join(l.root, "locked")
	if err := os.Mkdir(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	c := l.load(t, map[string]string{"etc/repositories.yaml": repoYAML("  r:\n    path: " + locked + "/images\n  s:\n    path: " + locked + "\n")})
	src := filepath.Join(l.sys, "repositories.yaml")
	for name, line := range map[string]string{"r": ":2:3", "s": ":4:3"} {
		r, err := c.Repository(name)
		if err != nil {
			t.Fatal(err)
		}
		checkAvailable(t, r, src+line, "permission denied")
	}
}

// checkAvailable checks that r is available (msg "") or unavailable at src
// for a reason containing msg.
func checkAvailable(t *testing.T, r Repository, src, msg string) {
	t.Helper()
	err := r.Available()
	if msg == "" {
		if err != nil {
			t.Fatalf("Available() = %v; want nil", err)
		}
		return
	}
	var ue *UnavailableError
	prefix := src + ": repository " + r.Name + " is unavailable here: "
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("Available() = %v; want an *UnavailableError %q...%q", err, prefix, msg)
	}
}
