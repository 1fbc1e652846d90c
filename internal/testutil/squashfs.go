package testutil

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Squashfs builds a squashfs image from a tar stream with tar2sqfs, as
// pcocc's import does, passing it args (compression options...). It skips
// the test when tar2sqfs is not installed.
func Squashfs(t testing.TB, tarStream []byte, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("tar2sqfs"); err != nil {
		t.Skip("tar2sqfs not found (Debian package squashfs-tools-ng)")
	}
	out := filepath.Join(t.TempDir(), "img.sqfs")
	cmd := exec.Command("tar2sqfs", append(append([]string{"-q", "-f"}, args...), out)...)
	cmd.Stdin = bytes.NewReader(tarStream)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar2sqfs %s: %v: %s", strings.Join(args, " "), err, b)
	}
	return out
}
