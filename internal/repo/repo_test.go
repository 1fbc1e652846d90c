package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

const blobA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func newRepo(t *testing.T) *Repo {
	t.Helper()
	r, err := Open("test", filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// importFake publishes an image made of one blob and a fake squashfs.
func importFake(t testing.TB, r *Repo, name, content string, force bool) error {
	tx, err := r.Begin()
	if err != nil {
		return err
	}
	defer tx.Abort()
	w, err := tx.BlobWriter(blobA)
	if err != nil {
		return err
	}
	if w != nil {
		fmt.Fprint(w, "layer")
		w.Close()
	}
	if err := os.WriteFile(tx.SquashfsPath(), []byte(content), 0o644); err != nil {
		return err
	}
	meta := &imagemeta.Meta{Format: 1, Type: imagemeta.TypeContainer,
		Layers:   []imagemeta.Layer{{Digest: blobA}},
		Squashfs: &imagemeta.Squashfs{File: "rootfs.sqfs", Size: int64(len(content))}}
	return tx.Publish(name, meta, force)
}

func TestOpenInitialises(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, path string
		prep       func(p string)
		wantErr    bool
	}{
		{"missing", filepath.Join(dir, "a"), nil, false},
		{"empty dir", filepath.Join(dir, "b"), func(p string) { os.Mkdir(p, 0o755) }, false},
		{"parent missing", filepath.Join(dir, "nope", "c"), nil, true},
		{"not empty", filepath.Join(dir, "d"), func(p string) { os.Mkdir(p, 0o755); os.WriteFile(p+"/x", nil, 0o644) }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.prep != nil {
				c.prep(c.path)
			}
			_, err := Open("r", c.path)
			if (err != nil) != c.wantErr {
				t.Fatalf("Open: err=%v, want error %v", err, c.wantErr)
			}
			if err == nil {
				if _, err := os.Stat(filepath.Join(c.path, markerFile)); err != nil {
					t.Fatal("no marker after init")
				}
				if _, err := Open("r", c.path); err != nil {
					t.Fatalf("reopen: %v", err)
				}
			}
		})
	}
}

func TestPublishGetListDelete(t *testing.T) {
	r := newRepo(t)
	if err := importFake(t, r, "img", "v1", false); err != nil {
		t.Fatal(err)
	}
	if err := importFake(t, r, "img", "v2", false); !errors.Is(err, ErrExists) {
		t.Fatalf("second import without force: %v, want ErrExists", err)
	}
	if err := importFake(t, r, "img", "v2", true); err != nil {
		t.Fatal(err)
	}
	img, err := r.Get("img")
	if err != nil {
		t.Fatal(err)
	}
	p, err := img.SquashfsPath()
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "v2" {
		t.Fatalf("squashfs content %q, want v2", b)
	}
	stores, _ := os.ReadDir(r.join("store"))
	if len(stores) != 1 {
		t.Fatalf("%d store dirs after replace, want 1", len(stores))
	}
	list, _ := r.List()
	if len(list) != 1 || list[0].Name != "img" {
		t.Fatalf("List = %v", list)
	}
	if err := r.Delete("img"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("img"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after delete: %v", err)
	}
	if err := r.Delete("img"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice: %v", err)
	}
	assertEmpty(t, r)
}

func assertEmpty(t *testing.T, r *Repo) {
	t.Helper()
	for _, d := range []string{"tmp", "store", "images", "blobs/sha256"} {
		entries, _ := os.ReadDir(r.join(d))
		if len(entries) != 0 {
			t.Errorf("%s not empty: %d entries", d, len(entries))
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	r := newRepo(t)
	tx, err := r.Begin()
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tx.BlobWriter(blobA)
	w.Write([]byte("x"))
	w.Close()
	tx.Abort()
	assertEmpty(t, r)
}

func TestCleanRemovesLeftovers(t *testing.T) {
	r := newRepo(t)
	if err := importFake(t, r, "keep", "k", false); err != nil {
		t.Fatal(err)
	}
	// What a killed import leaves: a tmp dir, an unreferenced store dir, a blob.
	os.MkdirAll(r.join("tmp", "dead", "image"), 0o755)
	os.MkdirAll(r.join("store", "orphan"), 0o755)
	orphan := digest.Digest("sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	p, _ := r.BlobPath(orphan)
	os.WriteFile(p, []byte("o"), 0o644)
	os.Symlink("../store/orphan", r.join("images", ".keep.x"))
	rep, err := r.Clean()
	if err != nil {
		t.Fatal(err)
	}
	if rep.TmpDirs != 1 || rep.StoreDirs != 1 || rep.Blobs != 1 {
		t.Fatalf("report %+v", rep)
	}
	if _, err := r.Get("keep"); err != nil {
		t.Fatalf("clean removed a live image: %v", err)
	}
	if p, _ := r.BlobPath(blobA); !exists(p) {
		t.Fatal("clean removed a referenced blob")
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestConcurrentImportsAndDeletes(t *testing.T) {
	r := newRepo(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			errs <- importFake(t, r, fmt.Sprintf("img%d", i), "x", false)
		}(i)
		go func(i int) {
			defer wg.Done()
			importFake(t, r, "shared", fmt.Sprint(i), true)
			r.Delete("shared")
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 8; i++ {
		img, err := r.Get(fmt.Sprintf("img%d", i))
		if err != nil || !img.HasSquashfs() {
			t.Fatalf("img%d lost: %v", i, err)
		}
	}
}

func TestReadOnly(t *testing.T) {
	r := newRepo(t)
	r.ReadOnly = true
	if _, err := r.Begin(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Begin on read-only: %v", err)
	}
	if err := r.Delete("x"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Delete on read-only: %v", err)
	}
}

func TestNoSquashfsMessage(t *testing.T) {
	r := newRepo(t)
	if err := importFake(t, r, "img", "x", false); err != nil {
		t.Fatal(err)
	}
	img, _ := r.Get("img")
	os.Remove(filepath.Join(img.Dir, "rootfs.sqfs"))
	_, err := img.SquashfsPath()
	want := "No squashfs has been built for this image: run 'pcocc image rebuild test:img'"
	if err == nil || err.Error() != want || !errors.Is(err, ErrNoSquashfs) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// NAME@REV selects revisions of VM images and of the original pcocc's
// repositories: a missing one is not found, so a search goes on to the next
// repository.
func TestRevisionNotFoundInOwnFormat(t *testing.T) {
	r, err := Open("user", filepath.Join(t.TempDir(), "r"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.GetRevision("x", "1"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"x@1"`) {
		t.Errorf("GetRevision(x, 1) = %v", err)
	}
	if r.Format() != "" {
		t.Errorf("Format() = %q for pcocc's own format", r.Format())
	}
}

// A container image's meta.json is written as before VM images existed
// (no "vm" key) and its name lock refuses nothing a reader does.
func TestContainerMetaUnchanged(t *testing.T) {
	r := newRepo(t)
	if err := importFake(t, r, "x", "sq", false); err != nil {
		t.Fatal(err)
	}
	img, _ := r.Get("x")
	data, _ := os.ReadFile(filepath.Join(img.Dir, metaFile))
	if strings.Contains(string(data), `"vm"`) || img.Revision != "" {
		t.Errorf("meta.json %s, revision %q", data, img.Revision)
	}
	if _, err := r.GetRevision("x", "0"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "a container image has no revisions") {
		t.Errorf("GetRevision(x, 0) = %v", err)
	}
	unlock, err := r.LockName("x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("x"); err != nil {
		t.Error(err)
	}
	unlock()
}
