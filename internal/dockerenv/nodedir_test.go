package dockerenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// NodeDir makes TMP/pcocc-docker-UID/JOB private, and refuses a per-user
// directory that is open to others or a link (another user may have made
// it first in a shared /tmp).
func TestNodeDir(t *testing.T) {
	tmp := t.TempDir()
	uid := os.Getuid()
	dir, err := NodeDir(tmp, uid, 42)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(tmp, "pcocc-docker-"+itoa(uid), "42"); dir != want {
		t.Errorf("dir %s, want %s", dir, want)
	}
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", p, err, st.Mode())
		}
	}
	if again, err := NodeDir(tmp, uid, 42); err != nil || again != dir {
		t.Errorf("again: %s %v", again, err)
	}
	open := t.TempDir()
	os.Mkdir(filepath.Join(open, "pcocc-docker-"+itoa(uid)), 0o755)
	os.Chmod(filepath.Join(open, "pcocc-docker-"+itoa(uid)), 0o755)
	link := t.TempDir()
	os.Symlink(t.TempDir(), filepath.Join(link, "pcocc-docker-"+itoa(uid)))
	for _, base := range []string{open, link} {
		if _, err := NodeDir(base, uid, 1); err == nil || !strings.Contains(err.Error(), "is not a private directory of yours") {
			t.Errorf("%s: %v", base, err)
		}
	}
	// Made by this process, for another uid: not theirs.
	if _, err := NodeDir(tmp, uid+1, 1); err == nil || !strings.Contains(err.Error(), "not a private directory") {
		t.Errorf("another uid: %v", err)
	}
}

// One server per job directory; its release removes the directory (and
// its socket), and the next server gets a new one.
func TestServeLock(t *testing.T) {
	dir, err := NodeDir(t.TempDir(), os.Getuid(), 7)
	if err != nil {
		t.Fatal(err)
	}
	if Served(dir) {
		t.Fatal("served before anyone serves it")
	}
	release, ok, err := ServeLock(dir)
	if err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !Served(dir) {
		t.Error("not served while locked")
	}
	if _, ok, err := ServeLock(dir); ok || err != nil {
		t.Errorf("second: %v %v, want refused", ok, err)
	}
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("released: %v, want the directory gone", err)
	}
	// A killed server leaves its socket: the next one starts afresh.
	os.MkdirAll(SocketDir(dir), 0o700)
	os.WriteFile(SocketPath(dir), nil, 0o600)
	release, ok, err = ServeLock(dir)
	if err != nil || !ok {
		t.Fatalf("next: %v %v", ok, err)
	}
	defer release()
	if _, err := os.Stat(SocketPath(dir)); !os.IsNotExist(err) {
		t.Errorf("stale socket left: %v", err)
	}
	if ln2, err := Listen(dir); err != nil {
		t.Errorf("listen after a stale socket: %v", err)
	} else {
		ln2.Close()
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
