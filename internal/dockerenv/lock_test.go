package dockerenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One holder at a time; the refusal names it; release frees the disk and
// leaves no lock file.
func TestLockDisk(t *testing.T) {
	disk := filepath.Join(t.TempDir(), ".pcocc.docker.persistent.img")
	if _, err := LockDisk(disk, "job 1"); err == nil || !strings.Contains(err.Error(), "mkfs.ext4") {
		t.Fatalf("missing disk: %v", err)
	}
	os.WriteFile(disk, nil, 0o600)
	release, err := LockDisk(disk, "job 1 of alice on n1 (pid 42)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockDisk(disk, "job 2")
	if err == nil || !strings.Contains(err.Error(), "in use by job 1 of alice on n1 (pid 42)") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second holder: %v", err)
	}
	release()
	if _, err := os.Stat(disk + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left: %v", err)
	}
	release, err = LockDisk(disk, "job 3")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}
