package vmcli

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/sshkeys"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmguest"
)

// knownHostsFile, in the job directory, pins the host key each VM's seed
// gives it: ssh and scp then refuse anything else on the VM's port.
const knownHostsFile = "known_hosts"

// prepareGuests writes each VM's cloud-init seed (hostname vmN, the user
// and their pcocc key, made on first use, a new host key, the template's
// user-data), sets its kernel command line (vmguest) and records the host
// keys in the job directory dir.
func (c *catalog) prepareGuests(vms []vm.VM, dir string) error {
	pair, err := sshkeys.Ensure(sshkeys.DefaultDir(c.e.getenv), "pcocc")
	if err != nil {
		return err
	}
	name := c.e.getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	var known strings.Builder
	for i := range vms {
		t, ok := c.used[vms[i].Template.Name]
		if !ok {
			continue
		}
		host := fmt.Sprintf("vm%d", vms[i].Index)
		hk, err := sshkeys.NewHostKey(host)
		if err != nil {
			return err
		}
		g, err := vmguest.Plan(vmguest.Request{Template: t, Index: vms[i].Index, User: name, AuthorizedKey: pair.Authorized, HostKey: &hk})
		if err != nil {
			return err
		}
		fmt.Fprintf(&known, "%s %s\n", host, hk.Public)
		if err := g.Seed.WriteISO(vms[i].Files.Seed); err != nil {
			return err
		}
		vms[i].HasSeed = true
		if g.KernelArgs != "" {
			vms[i].Template.Append = g.KernelArgs
		}
	}
	return os.WriteFile(filepath.Join(dir, knownHostsFile), []byte(known.String()), 0o600)
}
