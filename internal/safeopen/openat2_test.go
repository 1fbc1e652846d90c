package safeopen

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Which failures are retried: only those of a scoped lookup that a race can
// cause. (TestConcurrentStarts in internal/runtime races real mounts.)
func TestShouldRetry(t *testing.T) {
	inRoot := &unix.OpenHow{Resolve: unix.RESOLVE_IN_ROOT}
	beneath := &unix.OpenHow{Resolve: unix.RESOLVE_BENEATH}
	plain := &unix.OpenHow{Resolve: unix.RESOLVE_NO_SYMLINKS}
	for _, c := range []struct {
		how  *unix.OpenHow
		err  error
		want bool
	}{
		{inRoot, unix.EAGAIN, true},
		{inRoot, unix.EXDEV, true},
		{beneath, unix.EAGAIN, true},
		{inRoot, unix.ENOENT, false},
		{plain, unix.EAGAIN, false}, // RESOLVE_CACHED's EAGAIN: retrying changes nothing
		{plain, unix.EXDEV, false},
	} {
		if got := shouldRetry(c.how, c.err); got != c.want {
			t.Errorf("shouldRetry(%#x, %v) = %v", c.how.Resolve, c.err, got)
		}
	}
}

func TestOpenat2StaysInRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.Symlink("../../../etc/passwd", filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	dir, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	how := &unix.OpenHow{Flags: unix.O_PATH, Resolve: unix.RESOLVE_IN_ROOT}
	_, err = Openat2(int(dir.Fd()), "up", how)
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("a link out of the root resolved inside it must not exist there: %v", err)
	}
	if how.Flags&unix.O_CLOEXEC == 0 {
		t.Error("O_CLOEXEC not set")
	}
}
