package sshkeys

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestEnsureMakesThenKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ssh")
	p, err := Ensure(dir, "me@pcocc")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p.Private)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v, mode %v", err, st.Mode())
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", st.Mode())
	}
	if !strings.HasPrefix(p.Authorized, "ssh-ed25519 ") || !strings.HasSuffix(p.Authorized, " me@pcocc") {
		t.Errorf("authorized = %q", p.Authorized)
	}
	pub, _ := os.ReadFile(p.Public)
	if string(pub) != p.Authorized+"\n" {
		t.Errorf("public file %q", pub)
	}
	// The real ssh-keygen reads the private key and derives the same key.
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		out, err := exec.Command(kg, "-y", "-f", p.Private).Output()
		if err != nil || !strings.HasPrefix(p.Authorized, strings.TrimSpace(string(out))) {
			t.Errorf("ssh-keygen -y: %q, %v", out, err)
		}
	}
	again, err := Ensure(dir, "other")
	if err != nil || again.Authorized != p.Authorized {
		t.Errorf("second Ensure: %q, %v", again.Authorized, err)
	}
	// A lost public key is written again from the private one.
	os.Remove(p.Public)
	again, err = Ensure(dir, "me@pcocc")
	if err != nil || again.Authorized != p.Authorized {
		t.Errorf("after removing .pub: %q, %v", again.Authorized, err)
	}
	sig, err := again.Signer().Sign(nil, []byte("x"))
	if err != nil || again.Signer().PublicKey().Verify([]byte("x"), sig) != nil {
		t.Errorf("signer: %v", err)
	}
}

func TestEnsureConcurrentAgree(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := Ensure(dir, "c")
			if err != nil {
				t.Error(err)
			}
			keys[i] = p.Authorized
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatalf("keys differ: %q", keys)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestEnsureRefusesOpenDirAndBadKey(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	if _, err := Ensure(dir, ""); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("world-writable dir: %v", err)
	}
	os.Chmod(dir, 0o700)
	os.WriteFile(filepath.Join(dir, KeyName), []byte("garbage"), 0o600)
	if _, err := Ensure(dir, ""); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("bad key: %v", err)
	}
	if _, err := Ensure("", ""); err == nil {
		t.Error("no dir: no error")
	}
}

func TestHostKey(t *testing.T) {
	h, err := NewHostKey("vm0")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey([]byte(h.PrivatePEM))
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.Public))
	if err != nil || string(pub.Marshal()) != string(signer.PublicKey().Marshal()) ||
		string(h.PublicKey().Marshal()) != string(pub.Marshal()) {
		t.Errorf("public %q does not match the private key: %v", h.Public, err)
	}
	if !strings.HasSuffix(h.Public, " vm0") || !strings.HasPrefix(h.PrivatePEM, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("host key %+v", h)
	}
}

func TestDefaultDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if d := DefaultDir(env(map[string]string{"HOME": "/h"})); d != "/h/.local/share/pcocc/ssh" {
		t.Error(d)
	}
	if d := DefaultDir(env(map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/x"})); d != "/x/pcocc/ssh" {
		t.Error(d)
	}
	if d := DefaultDir(env(map[string]string{"HOME": "rel"})); d != "" {
		t.Error(d)
	}
}
