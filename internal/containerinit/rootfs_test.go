package containerinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenUnpackedChecksIdentity: init bind-mounts the unpacked tree only if
// the path still leads to the directory the launcher checked; a parent
// renamed meanwhile (another tree swapped in) or a symbolic link on the way
// is refused.
func TestOpenUnpackedChecksIdentity(t *testing.T) {
	base := t.TempDir()
	tree := filepath.Join(base, "parent", "cache", "rootfs")
	if err := os.MkdirAll(tree, 0o700); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(tree, &st); err != nil {
		t.Fatal(err)
	}
	id := [2]uint64{st.Dev, st.Ino}
	fd, err := openUnpacked(tree, id)
	if err != nil {
		t.Fatalf("the checked tree: %v", err)
	}
	unix.Close(fd)
	// An attacker swaps the parent for a look-alike of theirs.
	if err := os.Rename(filepath.Join(base, "parent"), filepath.Join(base, "kept")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(tree, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := openUnpacked(tree, id); err == nil || !strings.Contains(err.Error(), "not the directory that was checked") {
		t.Errorf("a swapped parent: %v", err)
	}
	// Or a symbolic link to the real one.
	os.RemoveAll(filepath.Join(base, "parent"))
	if err := os.Symlink("kept", filepath.Join(base, "parent")); err != nil {
		t.Fatal(err)
	}
	if _, err := openUnpacked(tree, id); err != unix.ELOOP {
		t.Errorf("through a symbolic link: %v, want ELOOP", err)
	}
}
