package vmnet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pcocc/pcocc/internal/tools"
)

// tunDevice is a variable for the tests.
var tunDevice = "/dev/net/tun"

// needed are the programs a network runs.
var needed = []string{"ip", "nft", "dnsmasq", "slirp4netns", "nsenter", "setpriv"}

// Preflight says in one line what keeps this host from running a VM
// network: no tun device, no permission on it, a missing tool.
func Preflight() error {
	f, err := os.OpenFile(tunDevice, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("VM network: %s is missing: an administrator must load the tun module (modprobe tun) or create it (mknod %s c 10 200; chmod 0666 %s)",
			tunDevice, tunDevice, tunDevice)
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EPERM):
		return fmt.Errorf("VM network: no permission to open %s: an administrator must make it usable by users (chmod 0666 %s)",
			tunDevice, tunDevice)
	case err != nil:
		return fmt.Errorf("VM network: %w", err)
	}
	f.Close()
	for _, name := range needed {
		if _, err := find(name); err != nil {
			return fmt.Errorf("VM network: %w", err)
		}
	}
	return nil
}

// find looks in sbin too: not in a user's PATH on Debian, where nft and
// dnsmasq are.
func find(name string) (string, error) {
	p, err := tools.Find(name)
	if err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if st, serr := os.Stat(filepath.Join(d, name)); serr == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return filepath.Join(d, name), nil
		}
	}
	return "", err
}

// lookPath is find for a program Preflight has checked.
func lookPath(name string) string {
	if p, err := find(name); err == nil {
		return p
	}
	return name
}
