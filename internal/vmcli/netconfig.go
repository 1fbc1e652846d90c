package vmcli

import (
	"fmt"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmnet"
)

// networkSpec is the cluster's network as resources.yaml and networks.yaml
// describe it: the first network of each VM's resource set (the default set
// when its template names none). A cluster has one private network, so
// every VM's set must name the same first one.
func (c *catalog) networkSpec(vms []vm.VM) (vmnet.Spec, error) {
	vc := c.cfg.VM()
	if err := vc.Err(config.KindResources, config.KindNetworks); err != nil {
		return vmnet.Spec{}, err
	}
	var name, from string
	for _, v := range vms {
		set, err := c.resourceSet(vc, c.used[v.Template.Name].ResourceSet)
		if err != nil {
			return vmnet.Spec{}, fmt.Errorf("template %s: %w", v.Template.Name, err)
		}
		if len(set.Networks) == 0 {
			return vmnet.Spec{}, fmt.Errorf("template %s: resource set %s names no network", v.Template.Name, set.Name)
		}
		switch {
		case name == "":
			name, from = set.Networks[0], v.Template.Name
		case set.Networks[0] != name:
			return vmnet.Spec{}, fmt.Errorf("templates %s and %s put their VMs on different networks (%s, %s): a cluster has one", from, v.Template.Name, name, set.Networks[0])
		}
	}
	n, err := vc.Network(name)
	if err != nil {
		return vmnet.Spec{}, err
	}
	return vmnet.SpecOf(n), nil
}

func (c *catalog) resourceSet(vc *config.VMConfig, name string) (config.ResourceSet, error) {
	if name == "" {
		return vc.DefaultResourceSet()
	}
	return vc.ResourceSet(name)
}
