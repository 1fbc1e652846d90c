// Package vmguest plans what one VM of a cluster is told: its name, its
// cloud-init seed (hostname, the user and their key, a host key, the
// template's user-data) and, for a template that boots a kernel directly,
// the kernel command line. Planning reads only the template's user-data
// file; the executor (internal/vmrun) writes the seed with WriteSeed.
package vmguest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/pcocc/pcocc/internal/cloudinit"
	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/sshkeys"
)

// DefaultAppend is the kernel command line of a template with a kernel and
// no append: serial console, the image as root, eth0 for the first NIC, and
// a panic that stops the VM instead of hanging it.
const DefaultAppend = "console=ttyS0 root=/dev/vda rw net.ifnames=0 panic=-1"

// Request is one VM to plan.
type Request struct {
	Template config.VMTemplate
	Index    int    // N in vmN
	User     string // created in the guest with sudo; "" for none
	// AuthorizedKey is the user's public key (sshkeys.Pair.Authorized).
	AuthorizedKey string
	// HostKey is given to the guest so that the client knows it; nil: the
	// guest makes its own.
	HostKey *sshkeys.HostKey
	// ReadFile reads the template's user-data file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

// Guest is what the executor needs for one VM.
type Guest struct {
	Name string // vmN: hostname, DNS name, the name commands take
	Seed cloudinit.Seed
	// KernelArgs is the -append value when the template boots a kernel,
	// else "".
	KernelArgs string
}

// Name is the name of the VM of index i.
func Name(i int) string { return fmt.Sprintf("vm%d", i) }

// Plan plans one VM.
func Plan(r Request) (Guest, error) {
	t := r.Template
	g := Guest{Name: Name(r.Index)}
	ud, err := userData(t, r.ReadFile)
	if err != nil {
		return Guest{}, err
	}
	id := t.InstanceID
	if id == "" {
		id = newInstanceID()
	}
	g.Seed = cloudinit.Seed{InstanceID: id, Hostname: g.Name, User: r.User, UserData: ud}
	if r.AuthorizedKey != "" {
		g.Seed.AuthorizedKeys = []string{r.AuthorizedKey}
	}
	if r.HostKey != nil {
		g.Seed.HostKeyPrivate, g.Seed.HostKeyPublic = r.HostKey.PrivatePEM, r.HostKey.Public
	}
	for _, m := range t.MountPoints {
		g.Seed.Mounts = append(g.Seed.Mounts, cloudinit.Mount{Tag: m.Tag, Dir: MountDir(m.Tag), Readonly: m.Readonly})
	}
	g.KernelArgs = KernelArgs(t, r.Index)
	return g, nil
}

// MountDir is where a guest with cloud-init mounts a mount point's tag.
func MountDir(tag string) string { return "/mnt/" + tag }

// KernelArgs is the kernel command line of VM index i of template t: its
// append (DefaultAppend when unset), then pcocc.hostname=vmN for guests
// with no cloud-init (the tiny test guest reads it). "" when t boots from
// its disk.
func KernelArgs(t config.VMTemplate, i int) string {
	if t.Kernel == "" {
		return ""
	}
	a := strings.TrimSpace(t.Append)
	if a == "" {
		a = DefaultAppend
	}
	return a + " pcocc.hostname=" + Name(i)
}

func userData(t config.VMTemplate, read func(string) ([]byte, error)) (string, error) {
	if t.UserDataInline != "" {
		return t.UserDataInline, nil
	}
	if t.UserData == "" {
		return "", nil
	}
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(t.UserData)
	if err != nil {
		return "", fmt.Errorf("template %q (%s): user-data: %w", t.Name, t.Source, err)
	}
	return string(data), nil
}

// newInstanceID is a fresh instance-id: cloud-init configures each VM of
// each cluster as new (hostname, keys), as the original pcocc did.
func newInstanceID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "i-" + hex.EncodeToString(b)
}

// WriteSeed writes the guest's seed ISO to path; the user-data is checked
// here (a bad cloud-config is named with the template).
func (g Guest) WriteSeed(path string) error {
	if err := g.Seed.WriteISO(path); err != nil {
		return fmt.Errorf("%s: cloud-init seed: %w", g.Name, err)
	}
	return nil
}
