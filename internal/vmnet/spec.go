package vmnet

import (
	"net/netip"

	"github.com/pcocc/pcocc/internal/config"
)

// SpecOf maps a network of networks.yaml onto a Spec (without its VMs).
func SpecOf(n config.Network) Spec {
	return Spec{
		Subnet:      netip.PrefixFrom(netip.AddrFrom4(n.Subnet.Addr), n.Subnet.Bits),
		Domain:      n.Domain,
		MTU:         n.MTU,
		MACPrefix:   n.MACPrefix,
		NoOutbound:  !n.AllowOut,
		VMPort:      n.ReverseNAT.VMPort,
		MinHostPort: n.ReverseNAT.MinPort,
		MaxHostPort: n.ReverseNAT.MaxPort,
	}
}
