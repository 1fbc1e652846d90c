package modules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/pcocc/pcocc/internal/config"
)

// The example site configuration of etc/pcocc must load cleanly.
func TestSiteExampleLoads(t *testing.T) {
	env := func(k string) string { return map[string]string{"HOME": "/home/u"}[k] }
	dirs := config.Dirs{System: "../../etc/pcocc"}
	c := config.Load(dirs, env, config.WithEnvCheck(func(s string) error {
		_, _, err := EnvSpec(config.EnvEntry{Spec: s}, env)
		return err
	}))
	mods, err := c.Modules()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]config.Module{}
	for _, m := range mods {
		got[m.Name] = m
	}
	if !got["storage"].Default || got["nvidia"].Generator != "pcocc module generate nvidia" || len(got["openmpi-4.1.4"].Mounts) < 10 {
		t.Errorf("site modules: %+v", mods)
	}
}

// The end-to-end scripts hold copies of etc/pcocc files (the staged test
// binary cannot read the checkout): they must stay equal to the originals.
func TestSiteExampleCopiesInE2EScripts(t *testing.T) {
	scripts, _ := filepath.Glob("../../test/e2e/testdata/*.txtar")
	copies := 0
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			rel, ok := strings.CutPrefix(f.Name, "etc-pcocc/containers.d/")
			if !ok {
				continue
			}
			orig, err := os.ReadFile(filepath.Join("../../etc/pcocc/containers.d", rel))
			if err != nil {
				continue // a script's own configuration, not a copy
			}
			copies++
			if string(orig) != string(f.Data) {
				t.Errorf("%s: %s differs from etc/pcocc/containers.d/%s: copy it again", filepath.Base(s), f.Name, rel)
			}
		}
	}
	if copies < 4 {
		t.Errorf("found %d copies of etc/pcocc files in the e2e scripts, want at least 4", copies)
	}
}
