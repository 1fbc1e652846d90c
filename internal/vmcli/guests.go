package vmcli

import (
	"os/user"

	"github.com/pcocc/pcocc/internal/sshkeys"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmguest"
)

// prepareGuests writes each VM's cloud-init seed (hostname vmN, the user
// and their pcocc key, made on first use, the template's user-data) and
// sets its kernel command line (vmguest).
func (c *catalog) prepareGuests(vms []vm.VM) error {
	pair, err := sshkeys.Ensure(sshkeys.DefaultDir(c.e.getenv), "pcocc")
	if err != nil {
		return err
	}
	name := c.e.getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	for i := range vms {
		t, ok := c.used[vms[i].Template.Name]
		if !ok {
			continue
		}
		g, err := vmguest.Plan(vmguest.Request{Template: t, Index: vms[i].Index, User: name, AuthorizedKey: pair.Authorized})
		if err != nil {
			return err
		}
		if err := g.Seed.WriteISO(vms[i].Files.Seed); err != nil {
			return err
		}
		vms[i].HasSeed = true
		if g.KernelArgs != "" {
			vms[i].Template.Append = g.KernelArgs
		}
	}
	return nil
}
