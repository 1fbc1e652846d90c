package vmcli

import (
	"context"
	"os/exec"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmnet"
)

// clusterNet is the cluster's private network (internal/vmnet): a tap per
// VM on a bridge in the cluster's namespaces, DHCP and DNS, NAT out and
// the reverse NAT of port 22 and the templates' ports.
type clusterNet struct{ *vmnet.Network }

// newNetwork starts the network of spec (networkSpec) for vms.
func newNetwork(ctx context.Context, job *vmjob.Job, spec vmnet.Spec, vms []vm.VM) (*clusterNet, error) {
	for _, v := range vms {
		spec.VMs = append(spec.VMs, vmnet.VMSpec{Name: v.Name, Ports: v.Template.Ports})
	}
	p, err := vmnet.NewPlan(spec)
	if err != nil {
		return nil, err
	}
	n, err := vmnet.Start(ctx, p, vmnet.Options{Dir: job.Dir})
	if err != nil {
		return nil, err
	}
	// The reaper kills the namespace's init after a kill -9 of alloc.
	job.Pids = append(job.Pids, n.HolderPID())
	return &clusterNet{n}, job.Save()
}

func (c *clusterNet) NetArgs(i int) []string {
	return []string{"-netdev", "tap,id=net0,ifname=" + c.Plan.VMs[i].Tap + ",script=no,downscript=no"}
}

func (c *clusterNet) MAC(i int) string { return c.Plan.VMs[i].MAC }

func (c *clusterNet) Command(name string, args ...string) *exec.Cmd {
	return c.Network.Command(name, args...)
}
