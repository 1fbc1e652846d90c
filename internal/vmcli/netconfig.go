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
	name, err := c.networkName(vms)
	if err != nil {
		return vmnet.Spec{}, err
	}
	n, err := c.cfg.VM().Network(name)
	if err != nil {
		return vmnet.Spec{}, err
	}
	return vmnet.SpecOf(n), nil
}

// networkName is the name of the cluster's network (networkSpec).
func (c *catalog) networkName(vms []vm.VM) (string, error) {
	vc := c.cfg.VM()
	if err := vc.Err(config.KindResources, config.KindNetworks); err != nil {
		return "", err
	}
	var name, from string
	for _, v := range vms {
		set, err := c.resourceSet(vc, c.used[v.Template.Name].ResourceSet)
		if err != nil {
			return "", fmt.Errorf("template %s: %w", v.Template.Name, err)
		}
		if len(set.Networks) == 0 {
			return "", fmt.Errorf("template %s: resource set %s names no network", v.Template.Name, set.Name)
		}
		switch {
		case name == "":
			name, from = set.Networks[0], v.Template.Name
		case set.Networks[0] != name:
			return "", fmt.Errorf("templates %s and %s put their VMs on different networks (%s, %s): a cluster has one", from, v.Template.Name, name, set.Networks[0])
		}
	}
	return name, nil
}

func (c *catalog) resourceSet(vc *config.VMConfig, name string) (config.ResourceSet, error) {
	if name == "" {
		return vc.DefaultResourceSet()
	}
	return vc.ResourceSet(name)
}
