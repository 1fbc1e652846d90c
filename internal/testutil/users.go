package testutil

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The unprivileged users of the test machine (scripts/deps.sh creates
// them): tests run pcocc as Tester, and try what another user can do to
// Tester's files as Tester2.
const (
	Tester  = "tester"
	Tester2 = "tester2"
)

// UserID returns the uid of the user called name; the test is skipped
// unless it runs as root (to switch users) and the user exists.
func UserID(t testing.TB, name string) int {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skipf("needs root, to run helpers as the user %s", name)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no user %s (scripts/deps.sh creates it)", name)
	}
	id, err := strconv.Atoi(u.Uid)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// AsUser returns a command that runs argv as the user called name, with a
// minimal PATH and env as its only other variables: nothing of root's
// environment reaches the user's process.
func AsUser(name string, env []string, argv ...string) *exec.Cmd {
	args := append([]string{"-u", name, "--", "env", "-i", "PATH=/usr/bin:/bin"}, env...)
	return exec.Command("runuser", append(args, argv...)...)
}

// SharedTestBinary makes a directory below /var/tmp that every user can
// reach (a test's own temporary directory is root's), removed when the test
// ends, and copies the running test binary into it as name, so that
// helpers can run it as another user. It returns both paths.
func SharedTestBinary(t testing.TB, name string) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", strings.TrimSuffix(name, ".test")+"-users-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, name)
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}
