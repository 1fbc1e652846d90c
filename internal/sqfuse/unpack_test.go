package sqfuse

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/testutil"
)

// TestUnpack: the unpacked tree has the image's names, contents, modes,
// links and times, everything owned by the caller, no device node and no
// extended attribute.
func TestUnpack(t *testing.T) {
	files := testFiles()
	img := openImage(t, testutil.Squashfs(t, writeTar(t, files), "-c", "zstd"))
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := img.Unpack(context.Background(), openDir(t, dir), 1<<30); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the image's 0555-style directories: make them removable
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	want := expected(files)
	for p, e := range want {
		switch {
		case e.Type == 'c' || e.Type == 'b':
			delete(want, p)
			continue
		case e.Type == 'd':
			e.Nlink = 0
		}
		e.UID, e.GID, e.Xattrs = os.Getuid(), os.Getgid(), ""
		want[p] = e
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "d/multi"), &st); err != nil || st.Mtim.Sec != 1700000000 {
		t.Errorf("mtime of d/multi: %v, %v", st.Mtim.Sec, err)
	}
	if err := unix.Lstat(filepath.Join(dir, "d"), &st); err != nil || time.Unix(st.Mtim.Sec, 0).Year() < 2020 {
		t.Errorf("mtime of d: %v, %v", st.Mtim.Sec, err)
	}
	// A mode-0 file cannot be read back by its owner unless root: check its
	// mode alone.
	if os.Getuid() != 0 {
		if err := unix.Lstat(filepath.Join(dir, "d/secret"), &st); err != nil || st.Mode&0o7777 != 0 {
			t.Errorf("d/secret: mode %o, %v", st.Mode&0o7777, err)
		}
		os.Remove(filepath.Join(dir, "d/secret"))
		delete(want, "d/secret")
	}
	got := walkMount(t, dir)
	for p, e := range got {
		if e.Type == 'd' {
			e.Nlink = 0
			got[p] = e
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unpacked tree (-image +tree):\n%s", diff)
	}
}

// openDir opens dir for Unpack, until the test ends.
func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// unpackTar unpacks the image of files into a new directory, with limit,
// and returns the directory and Unpack's error.
func unpackTar(t *testing.T, ctx context.Context, files []tarFile, limit int64) (string, error) {
	t.Helper()
	img := openImage(t, testutil.Squashfs(t, writeTar(t, files)))
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, img.Unpack(ctx, openDir(t, dir), limit)
}

// TestUnpackSparse: the sparse blocks of a file stay holes, so that an
// image of a few KiB cannot write GiBs (a 16 GiB /var/log/lastlog is
// common), and the file reads back the same.
func TestUnpackSparse(t *testing.T) {
	const mib = 1 << 20
	data := make([]byte, 24*mib)
	copy(data[5*mib:], "in the middle")
	zeroTail := make([]byte, 8*mib)
	copy(zeroTail, "at the start")
	dir, err := unpackTar(t, context.Background(), []tarFile{
		{name: "sparse", typ: tar.TypeReg, mode: 0o644, data: data},
		{name: "tail", typ: tar.TypeReg, mode: 0o644, data: zeroTail},
	}, 4*mib)
	if err != nil {
		t.Fatalf("unpacking 32 MiB of mostly zeros within 4 MiB: %v", err)
	}
	for name, want := range map[string][]byte{"sparse": data, "tail": zeroTail} {
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d bytes, the same", name, len(got), err, len(want))
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil || st.Blocks*512 > mib {
			t.Errorf("%s: %d bytes allocated, %v; want its holes kept", name, st.Blocks*512, err)
		}
	}
}

// TestUnpackLimit: past its limit, an unpack stops with ErrLimit, having
// written about that much.
func TestUnpackLimit(t *testing.T) {
	dir, err := unpackTar(t, context.Background(), []tarFile{
		{name: "a", typ: tar.TypeReg, mode: 0o644, data: pattern(3<<20, 1)},
		{name: "b", typ: tar.TypeReg, mode: 0o644, data: pattern(3<<20, 2)},
	}, 2<<20)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("6 MiB unpacked within 2 MiB: %v", err)
	}
	var total int64
	for _, n := range []string{"a", "b"} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			total += st.Size()
		}
	}
	if total > 3<<20 {
		t.Errorf("wrote %d bytes with a limit of 2 MiB", total)
	}
}

// TestUnpackLimitBeforeData: an image whose files alone exceed the limit is
// refused before any of them is written; one that fits by a few KiB, or
// only through its sparse blocks (TestUnpackSparse), is not.
func TestUnpackLimitBeforeData(t *testing.T) {
	files := []tarFile{
		{name: "d/a", typ: tar.TypeReg, mode: 0o644, data: pattern(3<<20, 1)},
		{name: "d/b", typ: tar.TypeReg, mode: 0o644, data: pattern(3<<20, 2)},
	}
	dir, err := unpackTar(t, context.Background(), files, 5<<20)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("6 MiB unpacked within 5 MiB: %v", err)
	}
	for _, n := range []string{"d/a", "d/b"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s written before the limit was found", n)
		}
	}
	if _, err := unpackTar(t, context.Background(), files, 6<<20+64<<10); err != nil {
		t.Errorf("6 MiB within 6 MiB + 64 KiB: %v", err)
	}
}

// TestUnpackFifoMode: a FIFO keeps its image mode, whatever the umask.
func TestUnpackFifoMode(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	dir, err := unpackTar(t, context.Background(), []tarFile{
		{name: "fifo", typ: tar.TypeFifo, mode: 0o666},
	}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(filepath.Join(dir, "fifo")); err != nil || st.Mode().Perm() != 0o666 {
		t.Errorf("fifo: %v, %v; want mode 0666", st.Mode(), err)
	}
}

// cancelAfter is a context that is cancelled after its Err was asked n
// times: cancellation at a known point of the unpack.
type cancelAfter struct {
	context.Context
	n atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestUnpackCancelInFile: cancelling stops an unpack within a large file,
// not after it.
func TestUnpackCancelInFile(t *testing.T) {
	ctx := &cancelAfter{Context: context.Background()}
	ctx.n.Store(4) // the walk, the file, its first two chunks
	dir, err := unpackTar(t, ctx, []tarFile{
		{name: "big", typ: tar.TypeReg, mode: 0o644, data: pattern(8<<20, 3)},
	}, 1<<30)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled unpack: %v", err)
	}
	if st, err := os.Stat(filepath.Join(dir, "big")); err == nil && st.Size() >= 8<<20 {
		t.Errorf("big written in full (%d bytes) after the cancel", st.Size())
	}
}

// forged opens the image of files with its root listing forged by edit, as
// a crafted image would list it: the reader caches listings, so the
// unpacker reads the forged one.
func forged(t *testing.T, files []tarFile, edit func(root []dirEntry) []dirEntry) *Image {
	t.Helper()
	img := openImage(t, testutil.Squashfs(t, writeTar(t, files)))
	root, err := img.inode(img.sb.RootInode)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := img.readDir(root)
	if err != nil {
		t.Fatal(err)
	}
	img.dirs.put(root.ref, edit(slices.Clone(ents)))
	return img
}

// TestUnpackNamesOfOneFile: a file inode listed under many names, its link
// count saying 1, is written once and hard-linked (a 3 MB image with 2^12
// names for a 1 MiB file must not write 4 GiB).
func TestUnpackNamesOfOneFile(t *testing.T) {
	img := forged(t, []tarFile{{name: "a", typ: tar.TypeReg, mode: 0o644, data: pattern(1<<20, 4)}},
		func(root []dirEntry) []dirEntry {
			for i := range 64 {
				e := root[0]
				e.name = fmt.Sprintf("n%02d", i)
				root = append(root, e)
			}
			return root
		})
	dir := filepath.Join(t.TempDir(), "rootfs")
	os.Mkdir(dir, 0o700)
	if err := img.Unpack(context.Background(), openDir(t, dir), 1<<30); err != nil {
		t.Fatal(err)
	}
	var a, n unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "a"), &a); err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		p := filepath.Join(dir, fmt.Sprintf("n%02d", i))
		if err := unix.Stat(p, &n); err != nil || n.Ino != a.Ino {
			t.Fatalf("%s: not a link to a (%v)", p, err)
		}
	}
}

// TestUnpackDirectoryTwice: a directory listed under two names is a corrupt
// image (a chain of them would unpack to 2^depth directories).
func TestUnpackDirectoryTwice(t *testing.T) {
	img := forged(t, []tarFile{
		{name: "d/", typ: tar.TypeDir, mode: 0o755},
		{name: "d/f", typ: tar.TypeReg, mode: 0o644, data: []byte("x")},
	}, func(root []dirEntry) []dirEntry {
		e := root[0]
		e.name = "e"
		return append(root, e)
	})
	dir := filepath.Join(t.TempDir(), "rootfs")
	os.Mkdir(dir, 0o700)
	if err := img.Unpack(context.Background(), openDir(t, dir), 1<<30); !errors.Is(err, ErrFormat) {
		t.Errorf("a directory under two names: %v", err)
	}
}
