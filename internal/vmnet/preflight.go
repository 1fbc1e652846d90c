package vmnet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// tunDevice is a variable for the tests.
var tunDevice = "/dev/net/tun"

// tools and the Debian package of each, for the one line that says what
// to install.
var tools = []struct{ name, pkg string }{
	{"ip", "iproute2"},
	{"nft", "nftables"},
	{"dnsmasq", "dnsmasq-base"},
	{"slirp4netns", "slirp4netns"},
	{"nsenter", "util-linux"},
	{"setpriv", "util-linux"},
}

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
	for _, t := range tools {
		if p := lookPath(t.name); p == t.name {
			return fmt.Errorf("VM network: %s is missing: install the %s package", t.name, t.pkg)
		}
	}
	return nil
}
