package sqfuse

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestUnpack: the unpacked tree has the image's names, contents, modes,
// links and times, everything owned by the caller, no device node and no
// extended attribute.
func TestUnpack(t *testing.T) {
	files := testFiles()
	img := openImage(t, buildImage(t, writeTar(t, files), "-c", "zstd"))
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := img.Unpack(context.Background(), dir); err != nil {
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
