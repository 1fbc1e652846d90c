package vmcli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The user's etcd credential: 32 hex characters in ~/.pcocc/etcd-password,
// mode 0600, made on first use. The front end hands it to the job as
// PCOCC_ETCD_CRED; the Slurm plugin (as root, on the job's nodes) sets it
// as the password of the etcd user pcocc-u<UID>, the job's owner as Slurm
// knows it, so that the user reads and writes their own clusters' keys.
const (
	etcdCredFile = "etcd-password"
	etcdCredEnv  = "PCOCC_ETCD_CRED"
)

// etcdCred reads the credential in dir (~/.pcocc), making it if absent. A
// file that group or others may read is refused, not repaired: its
// password may be known.
func etcdCred(dir string) (string, error) {
	p := filepath.Join(dir, etcdCredFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("etcd credential: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			f.Close()
			os.Remove(p)
			return "", err
		}
		cred := hex.EncodeToString(b)
		_, err = f.WriteString(cred + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(p)
			return "", fmt.Errorf("%s: %w", p, err)
		}
		return cred, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("etcd credential: %w", err)
	}
	return readEtcdCred(p)
}

func readEtcdCred(p string) (string, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("etcd credential: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", p)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s: readable by group or others (mode %04o): remove it, pcocc makes a new one", p, st.Mode().Perm())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	cred := strings.TrimSpace(string(b))
	if !validCred(cred) {
		return "", fmt.Errorf("%s: expected 32 hexadecimal characters: remove it, pcocc makes a new one", p)
	}
	return cred, nil
}

// validCred: 32 lowercase hex characters, what the plugin accepts too.
func validCred(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
