package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cacheFiles: every kind of input a snapshot depends on: a repositories.yaml
// with a path that uses a variable and one whose variable is unset here, a
// containers.d file, the original pcocc's repos.yaml (a notice), and the
// seed's modules (env entries, mounts with variables).
func cacheFiles() map[string]string {
	return map[string]string{
		"etc/repositories.yaml": "repositories:\n  proj:\n    path: $PROJ/images\n    mount: fuse\n" +
			"  scratch:\n    path: $CCCSCRATCHDIR/images\n",
		"etc/containers.yaml":           seedContainers,
		"p1/containers.d/10-x.yaml":     "modules:\n  extra:\n    env: [X=1]\n",
		"home/.config/pcocc/repos.yaml": "repos:\n  - name: old\n    path: \"%{homedir}/.pcocc/images\"\n",
	}
}

// cacheLayout loads cacheFiles, makes every file's modification time old
// and writes the snapshot as if outside the race window (the change times
// are now); it returns the layout, the Config that Load made and the
// snapshot's path.
func cacheLayout(t *testing.T) (*layout, *Config, string) {
	t.Helper()
	l := newLayout(t)
	l.env["PROJ"] = "/proj"
	writeFiles(t, l.root, cacheFiles())
	old := time.Now().Add(-time.Hour)
	filepath.Walk(l.root, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, old, old) })
	c := Load(DefaultDirs(envMap(l.env)), envMap(l.env))
	file := filepath.Join(t.TempDir(), "config.json")
	if err := c.writeCache(file, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no snapshot written: %v", err)
	}
	return l, c, file
}

// The snapshot gives back what Load gave: repositories (in order, with an
// unavailable one's reason), modules, templates, notices.
func TestCacheRoundTrip(t *testing.T) {
	l, want, file := cacheLayout(t)
	got, err := LoadCache(file, DefaultDirs(envMap(l.env)), envMap(l.env))
	if err != nil {
		t.Fatal(err)
	}
	wr, _ := want.Repositories()
	gr, err := got.Repositories()
	if err != nil || !cmp.Equal(wr, gr, cmp.AllowUnexported(Repository{}), cmp.Comparer(func(a, b error) bool {
		return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
	})) {
		t.Errorf("repositories: %v\n%s", err, cmp.Diff(wr, gr, cmp.AllowUnexported(Repository{})))
	}
	r, _ := got.Repository("scratch")
	if err := r.Available(); err == nil || err.Error() != mustUnavailable(t, want, "scratch") {
		t.Errorf("scratch: %v", err)
	}
	wm, _ := want.Modules()
	gm, _ := got.Modules()
	wt, _ := want.Templates()
	gt, _ := got.Templates()
	if d := cmp.Diff(wm, gm) + cmp.Diff(wt, gt) + cmp.Diff(want.Notices(), got.Notices()); d != "" || len(gm) < 3 || len(got.Notices()) != 1 {
		t.Errorf("modules, templates or notices differ:\n%s", d)
	}
	if got.Dirs().User != want.Dirs().User {
		t.Errorf("dirs: %+v", got.Dirs())
	}
}

func mustUnavailable(t *testing.T, c *Config, name string) string {
	t.Helper()
	r, err := c.Repository(name)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Available()
	if err == nil {
		t.Fatalf("%s is available", name)
	}
	return err.Error()
}

// Whatever the snapshot was made from changes, it is a miss; a variable the
// files do not use may change.
func TestCacheMiss(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, l *layout, file string)
		miss   bool
	}{
		{"nothing", func(*testing.T, *layout, string) {}, false},
		{"unused variable", func(_ *testing.T, l *layout, _ string) { l.env["UNRELATED"] = "x" }, false},
		{"used variable", func(_ *testing.T, l *layout, _ string) { l.env["PROJ"] = "/other" }, true},
		{"variable now set", func(_ *testing.T, l *layout, _ string) { l.env["CCCSCRATCHDIR"] = "/s" }, true},
		{"same size rewrite", func(t *testing.T, l *layout, _ string) {
			writeFiles(t, l.root, map[string]string{"p1/containers.d/10-x.yaml": "modules:\n  extra:\n    env: [X=2]\n"})
		}, true},
		{"file replaced", func(t *testing.T, l *layout, _ string) {
			p := filepath.Join(l.root, "etc/containers.yaml")
			b, _ := os.ReadFile(p)
			writeFiles(t, l.root, map[string]string{"etc/new": string(b)})
			os.Rename(filepath.Join(l.root, "etc/new"), p)
		}, true},
		{"file added to .d", func(t *testing.T, l *layout, _ string) {
			writeFiles(t, l.root, map[string]string{"p1/containers.d/20-y.yaml": "modules: {}\n"})
		}, true},
		{"main file created", func(t *testing.T, l *layout, _ string) {
			writeFiles(t, l.root, map[string]string{"p2/repositories.yaml": "repositories: {}\n"})
		}, true},
		{"file removed", func(_ *testing.T, l *layout, _ string) {
			os.Remove(filepath.Join(l.root, "home/.config/pcocc/repos.yaml"))
		}, true},
		{"config path changed", func(_ *testing.T, l *layout, _ string) { l.env["PCOCC_CONFIG_PATH"] = l.p1 }, true},
		{"snapshot corrupt", func(t *testing.T, _ *layout, file string) { os.WriteFile(file, []byte("{"), 0o600) }, true},
		{"snapshot writable by others", func(_ *testing.T, _ *layout, file string) { os.Chmod(file, 0o622) }, true},
		{"snapshot is a link", func(_ *testing.T, _ *layout, file string) {
			os.Rename(file, file+".real")
			os.Symlink(file+".real", file)
		}, true},
		{"snapshot of another user", func(t *testing.T, _ *layout, file string) {
			if os.Getuid() != 0 {
				t.Skip("needs root to give the file away")
			}
			os.Chown(file, 1, 1)
		}, true},
		{"snapshot of another version", func(t *testing.T, _ *layout, file string) {
			os.WriteFile(file, []byte(`{"Version":0}`), 0o600)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, file := cacheLayout(t)
			tc.change(t, l, file)
			_, err := LoadCache(file, DefaultDirs(envMap(l.env)), envMap(l.env))
			if miss := err != nil; miss != tc.miss {
				t.Errorf("miss = %v (%v), want %v", miss, err, tc.miss)
			}
		})
	}
}

// Nothing is written for a configuration with errors, nor for files
// changed within the race window (their time stamps cannot yet tell a
// second change from none).
func TestCacheNotWritten(t *testing.T) {
	l := newLayout(t)
	bad := l.load(t, map[string]string{"etc/containers.yaml": "modules:\n  m:\n    bogus: 1\n"})
	file := filepath.Join(t.TempDir(), "config.json")
	if err := bad.writeCache(file, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("snapshot written for a configuration with errors")
	}
	l = newLayout(t)
	fresh := l.load(t, map[string]string{"etc/containers.yaml": "modules: {}\n"})
	if err := fresh.WriteCache(file); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("snapshot written for a file changed just now")
	}
	if err := fresh.writeCache(file, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("no snapshot once outside the race window: %v", err)
	}
}
