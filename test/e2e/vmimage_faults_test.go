package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestVMImportInterrupted kills imports of a VM disk with SIGINT, SIGTERM
// and SIGKILL while qemu-img converts it: the repository is as before
// (status 128+N and one line for the signals pcocc catches), and the next
// command that changes it removes what a SIGKILL left, blobs included.
func TestVMImportInterrupted(t *testing.T) {
	requireHarness(t)
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("no qemu-img")
	}
	disk := filepath.Join(t.TempDir(), "big.raw")
	if err := os.WriteFile(disk, bytes.Repeat([]byte("pcocc vm import "), 128<<20/16), 0o644); err != nil {
		t.Fatal(err)
	}
	u := newUserEnv(t)
	u.mustPcocc("image", "import", disk, "keep")
	blobs := len(readNames(filepath.Join(u.repoDir(), "blobs", "sha256")))
	stopped := 0
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		for _, delay := range []time.Duration{20, 100, 300} {
			cmd := u.command("image", "import", disk, "victim")
			stderr, err := signalAfter(t, cmd, sig, delay*time.Millisecond)
			if err == nil {
				u.mustPcocc("image", "delete", "victim") // it finished first
			} else {
				stopped++
			}
			checkInterruptedImport(t, sig, cmd, stderr)
			u.mustPcocc("image", "copy", "keep", "scratch")
			u.mustPcocc("image", "delete", "scratch")
			u.assertRepoClean("keep")
			if n := len(readNames(filepath.Join(u.repoDir(), "blobs", "sha256"))); n != blobs {
				t.Errorf("%v after %v: %d blobs, want %d", sig, delay, n, blobs)
			}
		}
	}
	if stopped == 0 {
		t.Error("every import finished before its signal: the test proved nothing")
	}
}
