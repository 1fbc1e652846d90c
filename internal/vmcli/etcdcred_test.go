package vmcli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEtcdCred(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".pcocc")
	c1, err := etcdCred(dir)
	if err != nil || !validCred(c1) {
		t.Fatalf("first use: %q %v", c1, err)
	}
	st, err := os.Stat(filepath.Join(dir, etcdCredFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st.Mode(), err)
	}
	if c2, err := etcdCred(dir); err != nil || c2 != c1 {
		t.Errorf("second use: %q %v, want %q", c2, err, c1)
	}
	os.Chmod(filepath.Join(dir, etcdCredFile), 0o640)
	if _, err := etcdCred(dir); err == nil || !strings.Contains(err.Error(), "readable by group or others") {
		t.Errorf("0640 accepted: %v", err)
	}
	os.WriteFile(filepath.Join(dir, etcdCredFile), []byte("short\n"), 0o600)
	os.Chmod(filepath.Join(dir, etcdCredFile), 0o600)
	if _, err := etcdCred(dir); err == nil || !strings.Contains(err.Error(), "32 hexadecimal") {
		t.Errorf("bad content accepted: %v", err)
	}
	os.Remove(filepath.Join(dir, etcdCredFile))
	os.Symlink("/etc/passwd", filepath.Join(dir, etcdCredFile))
	if _, err := etcdCred(dir); err == nil {
		t.Error("symlink accepted")
	}
}
