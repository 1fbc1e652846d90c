//go:build !pcocc_launcher

package config

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/pcocc/pcocc/internal/lazy"
)

// ResourceSet names the networks a VM joins (resources.yaml).
type ResourceSet struct {
	Name        string
	Description string
	Networks    []string // in NIC order: the first is eth0
	Default     bool     // the set of templates that name none
	Source      Source
}

// Network types a VM network may have.
const (
	NetEthernet = "ethernet" // private cluster network with DHCP, DNS, NAT and reverse NAT
)

// Network is a VM network of networks.yaml. Only the ethernet type exists:
// a private network per cluster (internal/vmnet builds it).
type Network struct {
	Name        string
	Type        string
	Subnet      IPv4Prefix // the VMs' addresses; the gateway is the first
	Domain      string     // DNS domain of the VM names
	MTU         int
	MACPrefix   string // three bytes, "52:54:00"
	AllowOut    bool   // NAT to the outside (allow-outbound: all)
	ReverseNAT  ReverseNAT
	Description string
	Source      Source
}

// ReverseNAT says which host ports a VM's ports may get.
type ReverseNAT struct {
	VMPort  int // the port every VM gets (22)
	MinPort int // host ports are taken in [MinPort, MaxPort]; 0: any free one
	MaxPort int
}

// Batch is batch.yaml: which batch manager runs VM clusters.
type Batch struct {
	Type string // BatchLocal or BatchSlurm
	// Accelerator forces "kvm" or "tcg"; "auto" (default) probes KVM.
	Accelerator string
	// Slurm settings.
	EtcdServers []string
	EtcdPort    int
	EtcdProto   string
	BatchArgs   []string
	Source      Source
}

// Batch manager types.
const (
	BatchLocal = "local"
	BatchSlurm = "slurm"
)

var (
	resourceKeys = []string{"networks", "default", "description"}
	networkKeys  = []string{"type", "description", "settings"}
	netSetKeys   = []string{"network", "domain-name", "mtu", "mac-prefix", "allow-outbound", "reverse-nat"}
	rnatKeys     = []string{"vm-port", "min-host-port", "max-host-port"}
	batchKeys    = []string{"type", "settings"}
	batchSetKeys = []string{"accelerator", "etcd-servers", "etcd-client-port", "etcd-protocol", "batch-args"}
	netNameRE    = lazy.Regexp(`^[a-zA-Z][a-zA-Z_0-9-]*$`)
	macPrefixRE  = lazy.Regexp(`^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}$`)
)

// Built-in defaults: what a node with no VM configuration gets.
const (
	DefaultNetwork     = "cluster"
	DefaultResourceSet = "default"
)

func builtinNetwork() Network {
	return Network{
		Name: DefaultNetwork, Type: NetEthernet, Subnet: IPv4Prefix{Addr: [4]byte{10, 200, 0, 0}, Bits: 24},
		Domain: "pcocc", MTU: 1500, MACPrefix: "52:54:00", AllowOut: true,
		ReverseNAT:  ReverseNAT{VMPort: 22},
		Description: "private network of the cluster: DHCP, DNS, NAT out, reverse NAT to port 22",
	}
}

func builtinResourceSet() ResourceSet {
	return ResourceSet{Name: DefaultResourceSet, Networks: []string{DefaultNetwork}, Default: true,
		Description: "one NIC on the cluster network"}
}

func (d *decoder) decodeResources(root ast.Node) []ResourceSet {
	var out []ResourceSet
	for _, p := range d.pairs(root, "", "a mapping of resource set names") {
		name, ok := d.key(p, "")
		if !ok {
			continue
		}
		r := ResourceSet{Name: name, Source: d.at(p.Key)}
		ctx := fmt.Sprintf("resource set %q", name)
		d.fields(p.Value, ctx, resourceKeys, func(k string, v ast.Node) {
			switch k {
			case "networks":
				for _, item := range d.list(v, ctx, k) {
					if s := d.str(item, ctx, k); s != "" {
						r.Networks = append(r.Networks, s)
					}
				}
			case "default":
				r.Default = d.boolean(v, ctx, k)
			case "description":
				r.Description = d.str(v, ctx, k)
			}
		})
		out = append(out, r)
	}
	return out
}

func (d *decoder) decodeNetworks(root ast.Node) []Network {
	var out []Network
	for _, p := range d.pairs(root, "", "a mapping of network names") {
		name, ok := d.key(p, "")
		if !ok {
			continue
		}
		if !netNameRE().MatchString(name) {
			d.errorf(p.Key, "", "bad network name %q (a letter, then letters, digits, _ and -)", name)
			continue
		}
		n := builtinNetwork()
		n.Name, n.Description, n.Source = name, "", d.at(p.Key)
		ctx := fmt.Sprintf("network %q", name)
		var typ ast.Node
		d.fields(p.Value, ctx, networkKeys, func(k string, v ast.Node) {
			switch k {
			case "type":
				typ = v
				n.Type = d.oneOf(v, ctx, k, []string{NetEthernet, "eth"})
				if n.Type == "eth" {
					n.Type = NetEthernet
				}
			case "description":
				n.Description = d.str(v, ctx, k)
			case "settings":
				d.netSettings(&n, v, ctx)
			}
		})
		if typ == nil {
			d.errorf(p.Key, ctx, "missing key \"type\" (expected %q)", NetEthernet)
		}
		out = append(out, n)
	}
	return out
}

func (d *decoder) netSettings(n *Network, v ast.Node, ctx string) {
	ctx += ": settings"
	d.fields(v, ctx, netSetKeys, func(k string, v ast.Node) {
		switch k {
		case "network":
			s := d.str(v, ctx, k)
			p, err := ParseIPv4Prefix(s)
			if err != nil || p.Bits > 29 || p.Bits < 8 {
				d.errorf(v, ctx, "%s: expected an IPv4 network from /8 to /29 such as 10.200.0.0/24, found %q", k, s)
				return
			}
			n.Subnet = p
		case "domain-name":
			n.Domain = d.str(v, ctx, k)
		case "mtu":
			n.MTU = d.integer(v, ctx, k, 576, 65520)
		case "mac-prefix":
			n.MACPrefix = strings.ToLower(d.str(v, ctx, k))
			if !macPrefixRE().MatchString(n.MACPrefix) {
				d.errorf(v, ctx, "%s: expected three bytes such as 52:54:00, found %q", k, n.MACPrefix)
			}
		case "allow-outbound":
			n.AllowOut = d.oneOf(v, ctx, k, []string{"all", "none"}) == "all"
		case "reverse-nat":
			d.fields(v, ctx+": reverse-nat", rnatKeys, func(k string, v ast.Node) {
				switch k {
				case "vm-port":
					n.ReverseNAT.VMPort = d.integer(v, ctx, k, 1, 65535)
				case "min-host-port":
					n.ReverseNAT.MinPort = d.integer(v, ctx, k, 1024, 65535)
				case "max-host-port":
					n.ReverseNAT.MaxPort = d.integer(v, ctx, k, 1024, 65535)
				}
			})
			if n.ReverseNAT.MinPort > n.ReverseNAT.MaxPort && n.ReverseNAT.MaxPort != 0 {
				d.errorf(v, ctx, "reverse-nat: min-host-port %d is above max-host-port %d",
					n.ReverseNAT.MinPort, n.ReverseNAT.MaxPort)
			}
		}
	})
}

func (d *decoder) decodeBatch(root ast.Node) Batch {
	b := Batch{Type: BatchLocal, Accelerator: "auto", EtcdPort: 2379, EtcdProto: "http", Source: d.at(root)}
	var typ ast.Node
	d.fields(root, "batch", batchKeys, func(k string, v ast.Node) {
		if k == "type" {
			typ, b.Type = v, d.oneOf(v, "batch", k, []string{BatchLocal, BatchSlurm})
			return
		}
		ctx := "batch: settings"
		d.fields(v, ctx, batchSetKeys, func(k string, v ast.Node) {
			switch k {
			case "accelerator":
				b.Accelerator = d.oneOf(v, ctx, k, []string{"auto", "kvm", "tcg"})
			case "etcd-servers":
				for _, item := range d.list(v, ctx, k) {
					b.EtcdServers = append(b.EtcdServers, d.str(item, ctx, k))
				}
			case "etcd-client-port":
				b.EtcdPort = d.integer(v, ctx, k, 1, 65535)
			case "etcd-protocol":
				b.EtcdProto = d.oneOf(v, ctx, k, []string{"http", "https"})
			case "batch-args":
				for _, item := range d.list(v, ctx, k) {
					b.BatchArgs = append(b.BatchArgs, d.str(item, ctx, k))
				}
			}
		})
	})
	if typ == nil && root != nil && !isNull(root) {
		d.errorf(root, "batch", "missing key \"type\" (%q or %q)", BatchLocal, BatchSlurm)
	}
	return b
}
