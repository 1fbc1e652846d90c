package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pcocc/pcocc/internal/imageref"
)

const seedContainers = `modules:
  my_module:
    description: Mount my tools
    default: true
    mounts:
      - source: /opt/tools
        destination: /tools
        readonly: true
        type: bind
        optional: false
      - source: $CCCSCRATCHDIR
        optional: true
      - source: ~/data.sqsh
        destination: /data
        type: squashfs
    env:
      - SLURM_JOB_ID
      - MY_VARIABLE=value
      - pp(LD_LIBRARY_PATH)=/opt/mylib
      - ps(PATH)=$HOME/mylib
      - re(^OMPI_)
  nvidia:
    generator: /usr/lib/pcocc/nvidia-gen
containers:
  exemple_template:
    rootfs: "user:my_pcocc_image"
    no_defaults: false
    modules: [my_module]
    env: [MY_VARIABLE]
    mounts:
      - source: /data
        destination: /data
  hp:
    rootfs: host
    description: host root
    no_defaults: true
`

func TestContainersDecode(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"home/.config/pcocc/containers.yaml": seedContainers})
	file := filepath.Join(l.user, "containers.yaml")
	at := func(line, col int) Source { return Source{File: file, Line: line, Col: col} }

	mods, err := c.Modules()
	if err != nil {
		t.Fatalf("Modules(): %v", err)
	}
	wantMods := []Module{
		builtinHome(l.home),
		{Name: "my_module", Description: "Mount my tools", Default: true, Dir: l.user, Source: at(2, 3),
			Mounts: []Mount{
				{Source: "/opt/tools", Destination: "/tools", Readonly: true, Type: MountBind, Written: "/opt/tools", At: at(6, 9)},
				{Type: MountBind, Optional: true, Unset: []string{"CCCSCRATCHDIR"}, Written: "$CCCSCRATCHDIR", At: at(11, 9)},
				{Source: filepath.Join(l.home, "data.sqsh"), Destination: "/data", Type: MountSquashfs, Written: "~/data.sqsh", At: at(13, 9)},
			},
			Env: []EnvEntry{
				{"SLURM_JOB_ID", at(17, 9)}, {"MY_VARIABLE=value", at(18, 9)},
				{"pp(LD_LIBRARY_PATH)=/opt/mylib", at(19, 9)}, {"ps(PATH)=$HOME/mylib", at(20, 9)},
				{"re(^OMPI_)", at(21, 9)},
			}},
		{Name: "nvidia", Generator: "/usr/lib/pcocc/nvidia-gen", Dir: l.user, Source: at(22, 3)},
	}
	if diff := cmp.Diff(wantMods, mods, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Modules() mismatch (-want +got):\n%s", diff)
	}

	tpls, err := c.Templates()
	if err != nil {
		t.Fatalf("Templates(): %v", err)
	}
	wantTpls := []Template{
		{Name: "exemple_template", Rootfs: "user:my_pcocc_image", Image: imageref.Ref{Repo: "user", Name: "my_pcocc_image"},
			Modules: []ModuleRef{{"my_module", at(28, 15)}}, Env: []EnvEntry{{"MY_VARIABLE", at(29, 11)}},
			Mounts: []Mount{{Source: "/data", Destination: "/data", Type: MountBind, Written: "/data", At: at(31, 9)}},
			Source: at(25, 3)},
		{Name: "hp", Rootfs: "host", Host: true, Description: "host root", NoDefaults: true, Source: at(33, 3)},
		{Name: HostPassthrough, Rootfs: "host", Host: true, Description: "the host's root file system, with mounts and modules applied"},
	}
	if diff := cmp.Diff(wantTpls, tpls, cmpopts.EquateEmpty(),
		cmpopts.SortSlices(func(a, b Template) bool { return a.Name < b.Name })); diff != "" {
		t.Errorf("Templates() mismatch (-want +got):\n%s", diff)
	}
	if tpls[0].Name != "exemple_template" {
		t.Errorf("Templates() not sorted by name: %s first", tpls[0].Name)
	}
	mm, err := c.TemplateModules(tpls[0])
	if err != nil || len(mm) != 1 || mm[0].Name != "my_module" {
		t.Errorf("TemplateModules() = %v, %v", mm, err)
	}
}

func TestContainersErrors(t *testing.T) {
	const f = "home/.config/pcocc/containers.yaml"
	tests := []struct {
		name      string
		yaml      string
		line, col int
		msg       string
	}{
		{"unknown module key", "modules:\n  nvidia:\n    mount: []\n", 3, 5,
			`module "nvidia": unknown key "mount" (did you mean "mounts"?)`},
		{"unknown mount key", "modules:\n  m:\n    mounts:\n      - src: /a\n", 4, 9,
			`module "m": mount 1: unknown key "src" (did you mean "source"?)`},
		{"missing source", "modules:\n  m:\n    mounts:\n      - destination: /a\n", 4, 9,
			`module "m": mount 1: missing key "source"`},
		{"bad mount type", "modules:\n  m:\n    mounts:\n      - {source: /a, type: overlay}\n", 4, 28,
			`mount 1: type: unknown mount type "overlay" (expected "bind" or "squashfs")`},
		{"yes is not a boolean", "modules:\n  m:\n    default: yes\n", 3, 14,
			`module "m": default: expected true or false, found the string "yes"`},
		{"mounts not a list", "modules:\n  m:\n    mounts: /a\n", 3, 13,
			`module "m": mounts: expected a list, found the string "/a"`},
		{"env mapping slip", "modules:\n  m:\n    env:\n      - FOO: bar\n", 4, 9,
			`env: expected a string such as "FOO=bar", found a mapping`},
		{"env number", "modules:\n  m:\n    env: [true]\n", 3, 11,
			`module "m": env: expected a string, found true`},
		{"empty env entry", "modules:\n  m:\n    env: ['']\n", 3, 11, `module "m": env: empty entry`},
		{"relative mount source", "modules:\n  m:\n    mounts:\n      - source: opt\n", 4, 17,
			`mount 1: source "opt": not an absolute path`},
		{"relative destination", "containers:\n  t:\n    rootfs: img\n    mounts:\n      - {source: /a, destination: b}\n", 5, 35,
			`template "t": mount 1: destination "b": not an absolute path`},
		{"missing rootfs", "containers:\n  t:\n    modules: [a]\n", 2, 3,
			`template "t": missing key "rootfs"`},
		{"bad rootfs", "containers:\n  t:\n    rootfs: \"a:b:c\"\n", 3, 13,
			`template "t": rootfs: parsing image reference "a:b:c": image name "b:c" contains ':'`},
		{"bad template name", "containers:\n  my/t:\n    rootfs: img\n", 2, 3,
			`bad template name: image name "my/t" contains '/'`},
		{"unknown template key", "containers:\n  t:\n    rootfs: img\n    no_default: true\n", 4, 5,
			`template "t": unknown key "no_default" (did you mean "no_defaults"?)`},
		{"unknown section", "templates:\n  t: {}\n", 1, 1, `unknown key "templates" (did you mean "containers"?)`},
		{"merge key", "modules:\n  m:\n    <<: {}\n", 3, 5, "merge keys (<<) are not supported"},
		{"unknown alias", "modules:\n  m:\n    mounts: *nope\n", 3, 13, `unknown alias "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			c := l.load(t, map[string]string{f: tc.yaml})
			_, err := c.Modules()
			wantErr(t, l.root, err, f, tc.line, tc.col, tc.msg)
			if _, terr := c.Templates(); terr == nil {
				t.Error("Templates() has no error though the file is broken")
			}
		})
	}
}

func TestAnchorsShareMounts(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/containers.yaml": `modules:
  a:
    mounts: &common
      - source: /opt
  b:
    mounts: *common
`})
	b, err := c.Module("b")
	if err != nil || len(b.Mounts) != 1 || b.Mounts[0].Source != "/opt" {
		t.Fatalf("Module(b) = %+v, %v; want the anchored mount", b, err)
	}
}

func TestEnvCheck(t *testing.T) {
	check := func(entry string) error {
		if strings.Count(entry, "(") != strings.Count(entry, ")") {
			return errors.New("unbalanced parentheses")
		}
		return nil
	}
	l := newLayout(t)
	c := l.load(t, map[string]string{"p2/containers.d/10-site.yaml": "modules:\n  m:\n    env:\n      - OK=1\n      - pp(PATH=/x\n"},
		WithEnvCheck(check))
	_, err := c.Modules()
	wantErr(t, l.root, err, "p2/containers.d/10-site.yaml", 5, 9, `module "m": env entry "pp(PATH=/x": unbalanced parentheses`)
	if strings.Contains(err.Error(), "OK=1") {
		t.Errorf("error %v blames the valid entry", err)
	}
}

func TestContainersMerge(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"etc/containers.yaml":                "modules:\n  storage:\n    default: true\n  mpi:\n    description: site\n",
		"p1/containers.yaml":                 "modules:\n  mpi:\n    description: project\n",
		"home/.config/pcocc/containers.yaml": "containers:\n  mpi:\n    rootfs: img\n",
	})
	mods, err := c.Modules()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mods {
		got = append(got, fmt.Sprintf("%s %q %s", m.Name, m.Description, m.Source.File))
	}
	want := []string{
		fmt.Sprintf("home %q %s", builtinHome("").Description, ""),
		fmt.Sprintf("mpi %q %s", "project", filepath.Join(l.p1, "containers.yaml")),
		fmt.Sprintf("storage %q %s", "", filepath.Join(l.sys, "containers.yaml")),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Modules() mismatch (-want +got):\n%s", diff)
	}
	// Modules and templates are separate name spaces.
	if tpl, err := c.Template("mpi"); err != nil || tpl.Image.Name != "img" {
		t.Errorf("Template(mpi) = %+v, %v", tpl, err)
	}
}

func TestContainersDuplicateSamePriority(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"etc/containers.d/a.yaml": "containers:\n  t:\n    rootfs: img\n",
		"etc/containers.d/b.yaml": "containers:\n  t:\n    rootfs: other\n",
	})
	_, err := c.Template("t")
	wantErr(t, l.root, err, "etc/containers.d/b.yaml", 2, 3,
		fmt.Sprintf(`template "t" is already defined at %s:2:3 (same priority)`, filepath.Join(l.sys, "containers.d/a.yaml")))
}

func TestNotFoundAndTemplateModules(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/containers.yaml": "modules:\n  a: {}\n  b: {}\ncontainers:\n  t:\n    rootfs: img\n    modules:\n      - a\n      - zz\n"})
	if _, err := c.Module("x"); !errors.Is(err, ErrNotFound) || err.Error() != `module "x": not defined (known: a, b, home)` {
		t.Errorf("Module(x) error = %v", err)
	}
	if _, err := c.Template("img"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Template(img) error = %v; want ErrNotFound", err)
	}
	tpl, err := c.Template("t")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.TemplateModules(tpl)
	wantErr(t, l.root, err, "etc/containers.yaml", 9, 9, `template "t": module "zz": not defined (known: a, b, home)`)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("TemplateModules error %v does not wrap ErrNotFound", err)
	}
}

// A broken file of one kind must not stop commands that need another kind.
func TestBrokenKindIsolated(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{
		"home/.config/pcocc/containers.yaml":   "modules: [\n",
		"etc/containers.yaml":                  "modules:\n  m:\n    mont: []\n",
		"home/.config/pcocc/repositories.yaml": repoYAML("  r:\n    path: ROOT/r\n"),
	})
	if _, err := c.Repository("r"); err != nil {
		t.Fatalf("Repository(r) failed because of containers.yaml: %v", err)
	}
	warn := c.Warnings(KindRepositories)
	if len(warn) != 2 || !strings.Contains(warn[0].Error(), "etc/containers.yaml:3:5") ||
		!strings.Contains(warn[1].Error(), ".config/pcocc/containers.yaml:1:") {
		t.Fatalf("Warnings(repositories) = %v; want the two containers.yaml errors", warn)
	}
	if w := c.Warnings(KindRepositories, KindContainers); len(w) != 0 {
		t.Errorf("Warnings(all kinds) = %v; want none", w)
	}
	if c.Err(KindContainers) == nil || c.Err(KindRepositories) != nil {
		t.Errorf("Err() = %v / %v", c.Err(KindContainers), c.Err(KindRepositories))
	}
}

func TestGeneratorKeys(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"etc/containers.yaml": `modules:
  a: {generator: "gen/x --flag", generator_timeout: 1m30s}
  b: {generator: gen/y, generator_timeout: 2}
`})
	mods, err := c.Modules()
	if err != nil {
		t.Fatal(err)
	}
	if mods[0].GeneratorTimeout != 90*time.Second || mods[0].Generator != "gen/x --flag" || mods[0].Dir != l.sys ||
		mods[1].GeneratorTimeout != 2*time.Second {
		t.Errorf("modules: %+v", mods)
	}
	for _, tt := range []struct{ val, msg string }{
		{"0s", "out of range"},
		{"11m", "out of range"},
		{"soon", `expected a duration such as "30s"`},
	} {
		l := newLayout(t)
		c := l.load(t, map[string]string{"etc/containers.yaml": "modules:\n  a:\n    generator: x\n    generator_timeout: " + tt.val + "\n"})
		_, err := c.Modules()
		wantErr(t, l.root, err, "etc/containers.yaml", 4, 24, tt.msg)
	}
	l = newLayout(t)
	c = l.load(t, map[string]string{"etc/containers.yaml": "modules:\n  a:\n    generator: \"  \"\n"})
	_, err = c.Modules()
	wantErr(t, l.root, err, "etc/containers.yaml", 3, 16, "generator: empty command")
}

func TestHostPassthroughIsBuiltInAndReplaceable(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, nil)
	tp, err := c.Template(HostPassthrough)
	if err != nil || !tp.Host || tp.Source.String() != "built-in" {
		t.Fatalf("built-in: %+v, %v", tp, err)
	}
	c = l.load(t, map[string]string{"etc/containers.yaml": "containers:\n  host-passthrough: {rootfs: host, modules: [m]}\nmodules:\n  m: {}\n"})
	tp, err = c.Template(HostPassthrough)
	if err != nil || len(tp.Modules) != 1 || tp.Source.Line != 2 {
		t.Errorf("site definition: %+v, %v", tp, err)
	}
}
