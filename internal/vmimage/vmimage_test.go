package vmimage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/repo"
)

const mib = 1 << 20

func newRepo(t *testing.T, name string) *repo.Repo {
	t.Helper()
	r, err := repo.Open(name, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// rawDisk writes a raw disk of size bytes whose first MiB is a pattern.
func rawDisk(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bytes.Repeat([]byte("pcocc-vm"), mib/8))
	f.Truncate(size)
	f.Close()
	return p
}

// readGuest returns the first n bytes the guest sees on a revision's disk.
func readGuest(t *testing.T, v *Revision, n int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.raw")
	if err := Export(context.Background(), v, out, "raw"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

type chainEntry struct {
	Filename        string `json:"filename"`
	Format          string `json:"format"`
	BackingFilename string `json:"backing-filename"`
	VirtualSize     int64  `json:"virtual-size"`
}

// chain is the backing chain qemu-img opens from the revision's top layer.
func chain(t *testing.T, v *Revision) []chainEntry {
	t.Helper()
	top, err := v.Path()
	if err != nil {
		t.Fatal(err)
	}
	var c []chainEntry
	if err := json.Unmarshal([]byte(run(t, "qemu-img", "info", "--backing-chain", "--output=json", top)), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustImport(t *testing.T, r *repo.Repo, name string) *Revision {
	t.Helper()
	v, err := Import(context.Background(), r, name, rawDisk(t, t.TempDir(), "disk.raw", 4*mib), "", false)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestImportFormats(t *testing.T) {
	dir := t.TempDir()
	raw := rawDisk(t, dir, "disk.raw", 4*mib)
	run(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, filepath.Join(dir, "disk.img"))
	run(t, "qemu-img", "convert", "-f", "raw", "-O", "vmdk", raw, filepath.Join(dir, "disk.vmdk"))
	os.Link(raw, filepath.Join(dir, "noext"))
	want, _ := os.ReadFile(raw)
	r := newRepo(t, "user")
	for i, tc := range []struct{ file, fmt string }{
		{"disk.raw", ""}, {"disk.img", ""}, {"disk.vmdk", ""}, {"noext", ""}, {"noext", "raw"},
	} {
		name := "img" + string(rune('a'+i))
		v, err := Import(context.Background(), r, name, filepath.Join(dir, tc.file), tc.fmt, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if v.Rev != 0 || v.VirtualSize != 4*mib || len(v.Layers) != 1 || v.Ref() != name+"@0" {
			t.Errorf("%s: revision %+v", tc.file, v)
		}
		c := chain(t, v)
		if len(c) != 1 || c[0].Format != "qcow2" || c[0].BackingFilename != "" {
			t.Errorf("%s: chain %+v", tc.file, c)
		}
		if got := readGuest(t, v, len(want)); !bytes.Equal(got, want) {
			t.Errorf("%s: the guest does not see the imported disk", tc.file)
		}
	}
	// The same disk imported twice is stored once.
	imgs, _ := r.List()
	if _, total := repo.DiskUsage(imgs); total > 2*int64(len(want))+8*mib {
		t.Errorf("repository uses %d bytes", total)
	}
}

func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	r := newRepo(t, "user")
	bad := filepath.Join(dir, "bad.qcow2")
	os.WriteFile(bad, []byte("QFI\xfb not really a qcow2 image"), 0o644)
	secret := filepath.Join(dir, "secret.raw")
	os.WriteFile(secret, []byte("x"), 0o000)
	tests := []struct {
		file, fmt, want string
	}{
		{bad, "", "qemu-img convert:"},
		{filepath.Join(dir, "missing.raw"), "", "cannot read " + dir + "/missing.raw: no such file or directory"},
		{dir, "", "is not a regular file"},
		{bad, "iso", `unknown VM image format "iso"`},
	}
	if os.Getuid() != 0 {
		tests = append(tests, struct{ file, fmt, want string }{secret, "", "cannot read " + secret + ": permission denied"})
	}
	for _, tc := range tests {
		_, err := Import(context.Background(), r, "x", tc.file, tc.fmt, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("import %s: error %v, want one line with %q", tc.file, err, tc.want)
		}
	}
	assertEmpty(t, r)
}

// assertEmpty checks that a repository holds no image and, once cleaned,
// no file of any.
func assertEmpty(t *testing.T, r *repo.Repo) {
	t.Helper()
	if imgs, _ := r.List(); len(imgs) != 0 {
		t.Errorf("images left: %v", imgs)
	}
	r.Clean()
	for _, d := range []string{"tmp", "store", "blobs/sha256"} {
		if e, _ := os.ReadDir(filepath.Join(r.Path, d)); len(e) != 0 {
			t.Errorf("%s left: %v", d, e)
		}
	}
}

// An import killed (its context cancelled) while qemu-img converts leaves
// nothing once the repository is cleaned.
func TestImportInterrupted(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "big.raw")
	os.WriteFile(src, bytes.Repeat([]byte("interrupted import "), 96*mib/19), 0o644)
	r := newRepo(t, "user")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // cancel once qemu-img has started writing
		for ctx.Err() == nil {
			m, _ := filepath.Glob(filepath.Join(r.Path, "tmp", "*", "layer.qcow2"))
			if len(m) > 0 {
				cancel()
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := Import(ctx, r, "big", src, "", false)
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled (the conversion ended before the cancel?)", err)
	}
	assertEmpty(t, r)
}

func TestRevisions(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, "user")
	v0 := mustImport(t, r, "deb")
	before := readGuest(t, v0, mib)
	v1, err := Resize(ctx, v0, 8*mib)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Rev != 1 || v1.VirtualSize != 8*mib || len(v1.Layers) != 2 || v1.Layers[0] != v0.Layers[0] {
		t.Fatalf("resized revision %+v", v1)
	}
	// A save: an overlay the VM wrote to, backed by the revision's top
	// layer through an absolute path, as the runtime makes it.
	top, _ := v1.Path()
	ov := filepath.Join(t.TempDir(), "overlay.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", top, ov)
	run(t, "qemu-io", "-c", "write -P 0x61 0 4k", ov)
	v2, err := AddRevision(ctx, r, "deb", v1, ov)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ov); !os.IsNotExist(err) {
		t.Errorf("AddRevision left its file: %v", err)
	}
	c := chain(t, v2)
	if v2.Rev != 2 || len(c) != 3 || v2.VirtualSize != 8*mib {
		t.Fatalf("saved revision %+v, chain %+v", v2, c)
	}
	blobs := filepath.Join(r.Path, "blobs", "sha256")
	for i, e := range c[:2] { // relative backing names, resolved in the blob directory
		parent := v2.Layers[1-i].Hex()
		if e.BackingFilename != parent || filepath.Dir(e.Filename) != blobs {
			t.Errorf("layer %d: %+v, want backing %s in %s", i, e, parent, blobs)
		}
	}
	if got := readGuest(t, v2, 4096); !bytes.Equal(got, bytes.Repeat([]byte{0x61}, 4096)) {
		t.Errorf("the saved revision lacks the VM's write")
	}
	old, err := Resolve(r, "deb", "0")
	if err != nil || !bytes.Equal(readGuest(t, old, mib), before) {
		t.Errorf("revision 0 changed (%v)", err)
	}
	if latest, err := Resolve(r, "deb", ""); err != nil || latest.Rev != 2 {
		t.Errorf("newest revision %+v, %v", latest, err)
	}
	if _, err := Resolve(r, "deb", "7"); !errors.Is(err, repo.ErrNotFound) || !strings.Contains(err.Error(), "its revisions: 0, 1, 2") {
		t.Errorf("missing revision: %v", err)
	}
	if _, err := Resize(ctx, v2, 4*mib); !errors.Is(err, ErrBadSize) {
		t.Errorf("shrinking: %v", err)
	}
}

// A standalone layer (save --full) becomes a revision of its own chain;
// save -d makes a new image whose revision 0 is the base chain plus it.
func TestAddRevisionShapes(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, "user")
	v0 := mustImport(t, r, "deb")
	full := filepath.Join(t.TempDir(), "full.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", full, "1M")
	v1, err := AddRevision(ctx, r, "deb", v0, full)
	if err != nil || len(v1.Layers) != 1 || v1.Rev != 1 {
		t.Fatalf("full save: %+v, %v", v1, err)
	}
	top, _ := v0.Path()
	ov := filepath.Join(t.TempDir(), "ov.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", top, ov)
	other := newRepo(t, "proj")
	d, err := AddRevision(ctx, other, "derived", v0, ov)
	if err != nil || d.Rev != 0 || len(d.Layers) != 2 || len(chain(t, d)) != 2 {
		t.Fatalf("save -d: %+v, %v", d, err)
	}
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", top, ov)
	if _, err := AddRevision(ctx, r, "other", nil, ov); err == nil {
		t.Error("a layer with a backing file and no base was accepted")
	}
}

func TestCopySharesLayers(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	src, _ := repo.Open("user", filepath.Join(base, "a"))
	dst, _ := repo.Open("proj", filepath.Join(base, "b"))
	v0 := mustImport(t, src, "deb")
	v1, _ := Resize(ctx, v0, 8*mib)
	c, err := Copy(ctx, v1, dst, "copy", false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rev != 0 || len(c.Layers) != 2 || c.Ref() != "proj:copy@0" {
		t.Errorf("copy %+v", c)
	}
	for _, d := range c.Layers {
		p1, _ := src.BlobPath(d)
		p2, _ := dst.BlobPath(d)
		f1, _ := os.Stat(p1)
		f2, _ := os.Stat(p2)
		if !os.SameFile(f1, f2) {
			t.Errorf("layer %s is not shared", d)
		}
	}
	if _, err := Copy(ctx, v1, dst, "copy", false); !errors.Is(err, repo.ErrExists) {
		t.Errorf("copy onto an existing name: %v", err)
	}
	if err := Delete(src, "deb", ""); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, src)
	if len(chain(t, c)) != 2 {
		t.Error("the copy's chain broke with its source")
	}
}

func TestDeleteRevision(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, "user")
	v0 := mustImport(t, r, "deb")
	v1, _ := Resize(ctx, v0, 8*mib)
	v2, _ := Resize(ctx, v1, 16*mib)
	// Revision 1 backs revision 2: like the original pcocc, deleting it
	// drops its record only; revision 2 keeps the layers it lists.
	if err := Delete(r, "deb", "1"); err != nil {
		t.Fatal(err)
	}
	r.Clean()
	v, err := Resolve(r, "deb", "")
	if err != nil || v.Rev != 2 || len(chain(t, v)) != 3 {
		t.Fatalf("after deleting @1: %+v, %v", v, err)
	}
	if _, err := Resolve(r, "deb", "1"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("@1 still there: %v", err)
	}
	if err := Delete(r, "deb", "1"); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("deleting @1 twice: %v", err)
	}
	// Deleting the newest makes the previous one the newest again.
	if err := Delete(r, "deb", "2"); err != nil {
		t.Fatal(err)
	}
	r.Clean()
	if v, err := Resolve(r, "deb", ""); err != nil || v.Rev != 0 {
		t.Errorf("after deleting @2: %+v, %v", v, err)
	}
	if n, _ := os.ReadDir(filepath.Join(r.Path, "blobs", "sha256")); len(n) != 1 {
		t.Errorf("%d blobs left, want the one of @0", len(n))
	}
	// A deleted revision is no base; the next number follows the newest left.
	if _, err := Resize(ctx, v2, 32*mib); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("resizing a deleted revision: %v", err)
	}
	if v3, err := Resize(ctx, v0, 32*mib); err != nil || v3.Rev != 1 {
		t.Errorf("new revision %+v (%v) after deleting 1 and 2, want 1 (the newest left is 0)", v3, err)
	}
	if err := Delete(r, "deb", ""); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, r)
}

func TestExport(t *testing.T) {
	r := newRepo(t, "user")
	v := mustImport(t, r, "deb")
	dir := t.TempDir()
	for _, tc := range []struct{ file, fmt, want string }{
		{"a.qcow2", "", "qcow2"}, {"b", "", "qcow2"}, {"c.vmdk", "", "vmdk"}, {"d.bin", "raw", "raw"},
	} {
		p := filepath.Join(dir, tc.file)
		if err := Export(context.Background(), v, p, tc.fmt); err != nil {
			t.Fatal(err)
		}
		if out := run(t, "qemu-img", "info", "--output=json", p); !strings.Contains(out, `"format": "`+tc.want+`"`) {
			t.Errorf("%s: %s", tc.file, out)
		}
	}
	if err := Export(context.Background(), v, filepath.Join(dir, "a.qcow2"), ""); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("export over a file: %v", err)
	}
	if e, _ := os.ReadDir(dir); len(e) != 4 {
		t.Errorf("files left: %v", e)
	}
}

// Concurrent imports of one name: one wins, the others say it exists.
// Concurrent saves of one image each get a revision of their own.
func TestConcurrency(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, "user")
	raw := rawDisk(t, t.TempDir(), "disk.raw", 4*mib)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = Import(ctx, r, "same", raw, "", false) }()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, repo.ErrExists):
			t.Error(err)
		}
	}
	if won != 1 {
		t.Errorf("%d imports won", won)
	}
	base, _ := Resolve(r, "same", "")
	top, _ := base.Path()
	for i := range 3 {
		ov := filepath.Join(t.TempDir(), "ov.qcow2")
		run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", top, ov)
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = AddRevision(ctx, r, "same", base, ov) }()
	}
	wg.Wait()
	v, _ := Resolve(r, "same", "")
	if v == nil || len(v.Image.Meta.VM.Revisions) != 4 || v.Rev != 3 {
		t.Errorf("after 3 concurrent saves: %+v (%v)", v, errs[:3])
	}
}

func TestContainerImages(t *testing.T) {
	r := newRepo(t, "user")
	if _, err := Resolve(r, "nothing", ""); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("unknown image: %v", err)
	}
	v := mustImport(t, r, "deb")
	img, _ := r.Get("deb")
	if img.Revision != "0" || v.Image.Meta.Type != "vm" {
		t.Errorf("image %+v", img)
	}
	if _, err := img.SquashfsPath(); err == nil || !strings.Contains(err.Error(), "VM image") {
		t.Errorf("running a VM image: %v", err)
	}
}

// A layer of a shared repository rewritten to read another file (a
// backing file outside the chain, an external data file) is refused
// before any VM or export reads it.
func TestHostileLayers(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, "user")
	v0 := mustImport(t, r, "deb")
	v1, _ := Resize(ctx, v0, 8*mib)
	top, _ := v1.Path()
	base, _ := v0.Path()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("the user's secret"), 0o600)
	restore := func(p string) func() {
		b, _ := os.ReadFile(p)
		return func() { os.Remove(p); os.WriteFile(p, b, 0o644) }
	}
	tests := []struct {
		name, file string
		spoil      func(p string)
		want       string
	}{
		{"absolute backing", top, func(p string) { run(t, "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", secret, p) }, "its backing file is"},
		{"backing on a base layer", base, func(p string) { run(t, "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", secret, p) }, "its backing file is"},
		{"external data file", base, func(p string) {
			run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file="+secret+",data_file_raw=on", p+".new", "1M")
			os.Rename(p+".new", p)
		}, "external file"},
		{"not qcow2", base, func(p string) { os.WriteFile(p, []byte("raw data, no header"), 0o644) }, "not a qcow2 file"},
		{"symbolic link", base, func(p string) {
			q := filepath.Join(t.TempDir(), "theirs.qcow2")
			os.Rename(p, q)
			os.Symlink(q, p)
		}, "too many levels of symbolic links"},
	}
	for _, tc := range tests {
		undo := restore(tc.file)
		os.Chmod(tc.file, 0o644)
		tc.spoil(tc.file)
		_, err := Resolve(r, "deb", "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		undo()
	}
	if _, err := Resolve(r, "deb", ""); err != nil {
		t.Errorf("after restoring: %v", err)
	}
}
