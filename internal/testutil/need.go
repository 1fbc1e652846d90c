package testutil

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Need skips the test unless every program is on PATH.
func Need(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: %s not found on PATH", p)
		}
	}
}

// FUSEUsable reports whether the caller can open /dev/fuse (nil) or why not.
func FUSEUsable() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// NeedFUSE skips the test unless the caller can open /dev/fuse.
func NeedFUSE(t testing.TB) {
	t.Helper()
	if err := FUSEUsable(); err != nil {
		t.Skipf("/dev/fuse unusable (chmod 0666 /dev/fuse): %v", err)
	}
}

// UsernsWorks reports whether the caller can create a user and mount
// namespace (nil) or why not, probed with unshare, not with pcocc's code.
func UsernsWorks() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--mount", "true").Run()
}

// NeedUserns skips the test unless UsernsWorks.
func NeedUserns(t testing.TB) {
	t.Helper()
	if err := UsernsWorks(); err != nil {
		t.Skipf("no unprivileged user namespaces here (unshare: %v)", err)
	}
}
