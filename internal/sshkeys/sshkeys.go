// Package sshkeys holds the user's SSH key pair for VMs (made on first use
// in the user's pcocc data directory) and makes the ed25519 host keys given
// to each VM through its cloud-init seed, so that the client can check the
// VM's host key instead of trusting the first one it sees.
package sshkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/pcocc/pcocc/internal/atomicfile"
)

// KeyName is the base name of the user's private key; the public key is
// KeyName + ".pub".
const KeyName = "id_ed25519"

// Pair is the user's key pair.
type Pair struct {
	Private string // path of the private key (OpenSSH format, 0600)
	Public  string // path of the public key
	// Authorized is the public key as an authorized_keys line, with no
	// newline: "ssh-ed25519 AAAA... comment".
	Authorized string
	signer     ssh.Signer
}

// Signer is the private key, for an SSH client.
func (p Pair) Signer() ssh.Signer { return p.signer }

// DefaultDir is where the user's key pair lives: $XDG_DATA_HOME/pcocc/ssh,
// else ~/.local/share/pcocc/ssh; "" when the environment names no home.
func DefaultDir(env func(string) string) string {
	if d := env("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "pcocc", "ssh")
	}
	if h := env("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "pcocc", "ssh")
	}
	return ""
}

// Ensure returns the key pair in dir, making it (and dir, 0700) when there
// is none. Two concurrent calls agree on one pair: the private key is
// published with a hard link, which fails if another call won, and the
// public key is always derived from the private one.
func Ensure(dir, comment string) (Pair, error) {
	if dir == "" {
		return Pair{}, errors.New("no directory for the SSH key pair: $HOME is not set or not absolute")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Pair{}, fmt.Errorf("creating the SSH key directory: %w", err)
	}
	if err := checkPrivate(dir); err != nil {
		return Pair{}, err
	}
	priv := filepath.Join(dir, KeyName)
	if _, err := os.Stat(priv); errors.Is(err, fs.ErrNotExist) {
		if err := create(priv, comment); err != nil {
			return Pair{}, err
		}
	}
	return load(priv, comment)
}

// checkPrivate refuses a directory others can write: they could replace
// the key pair.
func checkPrivate(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s: group or others may write it (mode %04o): run chmod 700 %s", dir, st.Mode().Perm(), dir)
	}
	return nil
}

func create(priv, comment string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(priv), ".tmp-key-")
	if err != nil {
		return fmt.Errorf("writing the SSH key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the SSH key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the SSH key: %w", err)
	}
	if err := os.Link(tmp.Name(), priv); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("writing the SSH key: %w", err)
	}
	return nil
}

// load reads the private key and writes the public key next to it when it
// is missing or differs.
func load(priv, comment string) (Pair, error) {
	data, err := os.ReadFile(priv)
	if err != nil {
		return Pair{}, fmt.Errorf("reading the SSH key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return Pair{}, fmt.Errorf("%s: %w (remove it to get a new key pair)", priv, err)
	}
	auth := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	p := Pair{Private: priv, Public: priv + ".pub", Authorized: strings.TrimSpace(auth + " " + comment), signer: signer}
	if cur, err := os.ReadFile(p.Public); err != nil || !strings.HasPrefix(string(cur), auth) {
		if err := atomicfile.WriteBytes(p.Public, []byte(p.Authorized+"\n"), 0o644); err != nil {
			return Pair{}, err
		}
	} else {
		p.Authorized = strings.TrimSpace(string(cur))
	}
	return p, nil
}

// HostKey is an ed25519 host key for one VM.
type HostKey struct {
	PrivatePEM string // OpenSSH format, for cloud-init's ssh_keys
	Public     string // authorized_keys format, for cloud-init and known_hosts
	key        ssh.PublicKey
}

// PublicKey is the host key a client must see.
func (h HostKey) PublicKey() ssh.PublicKey { return h.key }

// NewHostKey makes a host key; comment ends up in the public key line.
func NewHostKey(comment string) (HostKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return HostKey{}, err
	}
	block, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return HostKey{}, err
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return HostKey{}, err
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub)))
	if comment != "" {
		line += " " + comment
	}
	return HostKey{PrivatePEM: string(pem.EncodeToMemory(block)), Public: line, key: spub}, nil
}
