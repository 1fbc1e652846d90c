package legacyrepo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/importer"
	"github.com/pcocc/pcocc/internal/legacyrepo"
	"github.com/pcocc/pcocc/internal/legacyrepo/legacytest"
	"github.com/pcocc/pcocc/internal/repo"
)

// fixture writes a repository of the given version with a container image
// "app" (three layers: a whiteout, a hard link) and a VM image "vm" with two
// revisions.
func fixture(t *testing.T, version int) *legacytest.Repo {
	t.Helper()
	base := t.TempDir()
	layout := filepath.Join(base, "layout")
	err := legacytest.WriteLayout(layout, "app",
		legacytest.Tar(legacytest.Entry{Name: "etc/", Dir: true}, legacytest.Entry{Name: "etc/gone", Body: "gone"},
			legacytest.Entry{Name: "etc/kept", Body: "kept"}),
		legacytest.Tar(legacytest.Entry{Name: "etc/.wh.gone"}, legacytest.Entry{Name: "etc/link", Link: "etc/kept"}),
		legacytest.Tar(legacytest.Entry{Name: "top", Body: "layer 3"}))
	if err != nil {
		t.Fatal(err)
	}
	r, err := legacytest.Create(filepath.Join(base, "repo"), version)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AddOCIImage("app", layout, "app"); err != nil {
		t.Fatal(err)
	}
	if err := r.AddVM("vm", 2); err != nil {
		t.Fatal(err)
	}
	return r
}

func open(t *testing.T, dir string) *repo.Repo {
	t.Helper()
	rp, err := repo.Open("old", dir)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func TestConfigVersions(t *testing.T) {
	for cfg, want := range map[string]string{"version: 1\n": "version 1", "version: 2.0\n": "version 2"} {
		r := fixture(t, 2)
		os.WriteFile(filepath.Join(r.Dir, ".config"), []byte(cfg), 0o644)
		rp, err := repo.Open("old", r.Dir)
		if err != nil || !strings.HasSuffix(rp.Format(), want) {
			t.Errorf(".config %q: %v, %v (want %s)", cfg, rp, err, want)
		}
	}
}

func TestListAndGet(t *testing.T) {
	for _, v := range []int{1, 2} {
		r := fixture(t, v)
		rp := open(t, r.Dir)
		if !strings.Contains(rp.Format(), "original pcocc") {
			t.Fatalf("v%d: Format() = %q", v, rp.Format())
		}
		imgs, err := rp.List()
		if err != nil || len(imgs) != 2 {
			t.Fatalf("v%d: List() = %v, %v", v, imgs, err)
		}
		app, vm := imgs[0], imgs[1]
		if app.Err != nil || vm.Err != nil {
			t.Fatalf("v%d: errors %v / %v", v, app.Err, vm.Err)
		}
		if app.Name != "app" || app.Meta.Type != "container" || len(app.Meta.Layers) != 3 || app.HasSquashfs() {
			t.Errorf("v%d: app = %+v", v, app)
		}
		if _, err := app.SquashfsPath(); !errors.Is(err, repo.ErrNoSquashfs) {
			t.Errorf("v%d: app.SquashfsPath() error = %v", v, err)
		}
		if vm.Name != "vm" || vm.Meta.Type != "vm" || vm.Revision != "1" {
			t.Errorf("v%d: vm = %+v", v, vm)
		}
		if old, err := rp.GetRevision("vm", "0"); err != nil || old.Revision != "0" {
			t.Errorf("v%d: vm@0 = %+v, %v", v, old, err)
		}
		if _, err := rp.GetRevision("vm", "7"); !errors.Is(err, repo.ErrNotFound) {
			t.Errorf("v%d: vm@7: %v", v, err)
		}
		if app.Meta.Config.Cmd[0] != "/bin/sh" {
			t.Errorf("v%d: config not read: %+v", v, app.Meta.Config)
		}
	}
}

func TestNotOurFormatIsUntouched(t *testing.T) {
	r := fixture(t, 2)
	open(t, r.Dir)
	for _, f := range []string{"pcocc-repo.json", ".lock", "tmp", "images"} {
		if _, err := os.Stat(filepath.Join(r.Dir, f)); err == nil {
			t.Errorf("opening created %s in the original's repository", f)
		}
	}
	rp := open(t, r.Dir)
	if _, err := rp.Begin(); err == nil || !strings.Contains(err.Error(), "only rebuilds") {
		t.Errorf("Begin (an import) = %v, want a refusal", err)
	}
	if err := rp.Delete("app"); err == nil {
		t.Error("Delete succeeded in the original's repository")
	}
}

func TestBadInput(t *testing.T) {
	r := fixture(t, 2)
	meta := r.RecordPath("app", 0)
	os.WriteFile(meta, []byte(`{"name": "app", `), 0o644)
	_, err := open(t, r.Dir).Get("app")
	if err == nil || !strings.Contains(err.Error(), meta) || strings.Contains(err.Error(), "\n") {
		t.Errorf("corrupt record: %v (want one line naming %s)", err, meta)
	}

	r = fixture(t, 2)
	data, _ := os.ReadFile(r.RecordPath("app", 0))
	var rec struct {
		DataBlobs []string `json:"data_blobs"`
	}
	json.Unmarshal(data, &rec)
	last := strings.TrimPrefix(rec.DataBlobs[len(rec.DataBlobs)-1], "sha256:")
	blob := filepath.Join(r.Dir, "data", last[:2], last)
	os.Remove(blob)
	_, err = open(t, r.Dir).Get("app")
	if err == nil || !strings.Contains(err.Error(), blob) || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing blob: %v (want one line naming %s)", err, blob)
	}

	for cfg, want := range map[string]string{"version: 3\n": "unsupported version 3", "version: 2\nx: 1\n": `unknown key "x"`,
		"version: two\n": "is not a number", "{}\n": `missing key "version"`, "version: [\n": "not a repository configuration"} {
		r = fixture(t, 2)
		os.WriteFile(filepath.Join(r.Dir, ".config"), []byte(cfg), 0o644)
		if _, err := repo.Open("old", r.Dir); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ".config") {
			t.Errorf(".config %q: %v (want %q)", cfg, err, want)
		}
	}
}

// TestRebuildKeepsTheOriginalsFormat rebuilds the container image and checks
// what the original pcocc would see: every record passes its schema, the
// squashfs blob is listed in data_blobs (its gc keeps it), and the image now
// runs for pcocc.
func TestRebuildKeepsTheOriginalsFormat(t *testing.T) {
	for _, v := range []int{1, 2} {
		r := fixture(t, v)
		rp := open(t, r.Dir)
		img, err := rp.Get("app")
		if err != nil {
			t.Fatal(err)
		}
		tx, err := rp.BeginRebuild(img)
		if err != nil {
			t.Fatal(err)
		}
		meta := img.Meta
		blobs := func(d digest.Digest) (io.ReadCloser, error) { return rp.OpenBlob(d) }
		if err := importer.Rebuild(context.Background(), &meta, blobs, tx.SquashfsPath(), importer.Options{}); err != nil {
			t.Fatal(err)
		}
		meta.Squashfs = nil
		if err := tx.Publish(img.Name, &meta, true); err != nil {
			t.Fatal(err)
		}
		img, err = open(t, r.Dir).Get("app")
		if err != nil {
			t.Fatal(err)
		}
		sq, err := img.SquashfsPath()
		if err != nil {
			t.Fatalf("v%d: after rebuild: %v", v, err)
		}
		if fi, err := os.Stat(sq); err != nil || fi.Mode().Perm() != 0o444 || !strings.HasPrefix(sq, filepath.Join(r.Dir, "data")+"/") {
			t.Errorf("v%d: squashfs %s: %v %v", v, sq, fi.Mode(), err)
		}
		checkRecords(t, r)
		if n, err := r.GC(); err != nil || n != 0 {
			t.Errorf("v%d: the original's gc removed %d blobs (%v): the squashfs must be listed", v, n, err)
		}
		if img, err := open(t, r.Dir).GetRevision("app", "0"); err != nil || !img.HasSquashfs() {
			t.Errorf("v%d: after the original's gc: %v (squashfs kept: %v)", v, err, err == nil && img.HasSquashfs())
		}
		if entries, _ := os.ReadDir(filepath.Join(r.Dir, ".tmp")); len(entries) != 0 {
			t.Errorf("v%d: .tmp keeps %d entries", v, len(entries))
		}
	}
}

// checkRecords validates every record against the original's schema and
// checks that each blob a record lists exists.
func checkRecords(t *testing.T, r *legacytest.Repo) {
	t.Helper()
	for _, name := range []string{"app@0", "vm@0", "vm@1"} {
		n, rev, _ := strings.Cut(name, "@")
		p := r.RecordPath(n, map[string]int{"0": 0, "1": 1}[rev])
		raw, err := legacyrepo.ReadRaw(p, r.Version)
		if err != nil {
			t.Fatal(err)
		}
		if err := legacyrepo.ValidateSchema(raw); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		var blobs []string
		json.Unmarshal(raw["data_blobs"], &blobs)
		for _, b := range blobs {
			h := strings.TrimPrefix(b, "sha256:")
			if _, err := os.Stat(filepath.Join(r.Dir, "data", h[:2], h)); err != nil {
				t.Errorf("%s lists a missing blob: %v", p, err)
			}
		}
	}
}

// A killed rebuild leaves a work directory in .tmp: the next rebuild
// removes it, but neither a live rebuild's nor the original tool's files.
func TestDeadRebuildWorkRemoved(t *testing.T) {
	r := fixture(t, 2)
	tmp := filepath.Join(r.Dir, ".tmp")
	dead := filepath.Join(tmp, "pcocc-dead")
	os.MkdirAll(dead, 0o755)
	os.WriteFile(filepath.Join(dead, ".lock"), nil, 0o644)
	os.WriteFile(filepath.Join(tmp, "tmpXYZ"), []byte("the original's"), 0o644)
	rp := open(t, r.Dir)
	img, err := rp.Get("app")
	if err != nil {
		t.Fatal(err)
	}
	live, err := rp.BeginRebuild(img)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	second, err := rp.BeginRebuild(img)
	if err != nil {
		t.Fatal(err)
	}
	second.Abort()
	if _, err := os.Stat(dead); err == nil {
		t.Error("the dead rebuild's directory is still there")
	}
	for _, p := range []string{live.Dir(), filepath.Join(tmp, "tmpXYZ")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if _, err := os.Stat(second.Dir()); err == nil {
		t.Error("Abort left its directory")
	}
}

// The original's schema, key by key: what it refuses, pcocc refuses too.
func TestValidateSchema(t *testing.T) {
	good := `{"name": "a", "revision": 0, "kind": "ctr", "owner": "u", "timestamp": 1.5, "data_blobs": ["x"], "custom_meta": {}, "description": "d"}`
	for _, tc := range []struct{ edit, want string }{
		{``, ""},
		{`"extra": 1`, `unknown key "extra"`},
		{`"revision": 1.5`, `"revision" is not an integer`},
		{`"data_blobs": ["x", null]`, `"data_blobs" is not an array of strings`},
		{`"custom_meta": []`, `"custom_meta" is not an object`},
		{`"timestamp": "now"`, `"timestamp" is not a number`},
		{`"owner": null`, `"owner" is not a string`},
	} {
		var raw map[string]json.RawMessage
		json.Unmarshal([]byte(good), &raw)
		if tc.edit != "" {
			var e map[string]json.RawMessage
			json.Unmarshal([]byte("{"+tc.edit+"}"), &e)
			for k, v := range e {
				raw[k] = v
			}
		}
		err := legacyrepo.ValidateSchema(raw)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.edit, err, tc.want)
		}
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(good), &raw)
	delete(raw, "owner")
	if err := legacyrepo.ValidateSchema(raw); err == nil || !strings.Contains(err.Error(), `missing key "owner"`) {
		t.Errorf("without owner: %v", err)
	}
}
