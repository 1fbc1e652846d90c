// Package vmnet gives a cluster of VMs a private network without root: one
// user+net+pid namespace per cluster, held by a holder process, with a bridge,
// one tap per VM, dnsmasq (static DHCP leases, DNS names vmN), nftables
// (masquerade out, DNAT in) and slirp4netns as the uplink to the host. Each
// VM's port 22 (and the other ports asked for) is reachable on a host loopback
// port: slirp4netns forwards 127.0.0.1:HOST to a port of the namespace, which
// nftables forwards to the VM.
//
// Plan is pure (addresses, leases, ports, rules); Start executes a plan.
package vmnet

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The slirp4netns side of the namespace (its defaults, --configure).
const (
	UplinkTap   = "tap0" // created by slirp4netns: never a VM's tap
	uplinkAddr  = "10.0.2.100"
	HostAddr    = "10.0.2.2" // the host's loopback, seen from the VMs
	uplinkDNS   = "10.0.2.3"
	Bridge      = "br0"
	firstVMHost = 10 // vm0 is .10 of the subnet, the bridge is .1
	// nsPortBase: forwarded ports inside the namespace are nsPortBase+k.
	nsPortBase = 20000
)

var uplinkNet = netip.MustParsePrefix("10.0.2.0/24")

// DefaultSubnet is the cluster network when the configuration names none.
var DefaultSubnet = netip.MustParsePrefix("10.200.0.0/24")

// DefaultDomain is the DNS domain of the VMs (vm0.pcocc).
const DefaultDomain = "pcocc"

// Spec is what a cluster asks of its network (networks.yaml's settings
// and the VMs); zero values take the defaults.
type Spec struct {
	Subnet     netip.Prefix // DefaultSubnet
	Domain     string       // DefaultDomain
	MTU        int          // of the bridge, the taps and the VMs (DHCP): 1500
	MACPrefix  string       // 3 bytes, "52:54:00"
	NoOutbound bool         // VMs may not open connections out of the cluster
	VMPort     int          // the guest port every VM gets forwarded: 22
	// MinHostPort..MaxHostPort: where the host ports are taken; 0: any
	// free port.
	MinHostPort, MaxHostPort int
	VMs                      []VMSpec
}

// VMSpec is one VM: its name (empty: vmN) and the guest TCP ports to make
// reachable from the host besides Spec.VMPort (a template's ports).
type VMSpec struct {
	Name  string
	Ports []int
}

// Plan is the whole network of a cluster, computed by NewPlan.
type Plan struct {
	Subnet                   netip.Prefix
	BridgeAddr               netip.Addr
	Domain                   string
	MTU                      int
	NoOutbound               bool
	MinHostPort, MaxHostPort int
	VMs                      []VMNet
}

// VMNet is one VM's place on the network.
type VMNet struct {
	Index    int
	Name     string
	Tap      string
	MAC      string
	Addr     netip.Addr
	Forwards []Forward
}

// Forward is one reverse-NAT rule: host 127.0.0.1:HostPort (chosen when the
// network starts) -> namespace NSPort -> VM GuestPort.
type Forward struct {
	GuestPort int
	NSPort    int
	HostPort  int
}

var dnsLabel = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)

var macPrefix = regexp.MustCompile(`^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`)

// NewPlan checks a spec and lays out its network.
func NewPlan(s Spec) (Plan, error) {
	s = withDefaults(s)
	p := Plan{Subnet: s.Subnet, Domain: s.Domain, MTU: s.MTU, NoOutbound: s.NoOutbound,
		MinHostPort: s.MinHostPort, MaxHostPort: s.MaxHostPort}
	if err := checkSpec(s); err != nil {
		return Plan{}, err
	}
	p.Subnet = p.Subnet.Masked()
	p.BridgeAddr = p.Subnet.Addr().Next()
	capacity := 1<<(32-p.Subnet.Bits()) - firstVMHost - 1
	if len(s.VMs) > capacity {
		return Plan{}, fmt.Errorf("network %s has room for %d VMs, not %d", p.Subnet, capacity, len(s.VMs))
	}
	seen := map[string]bool{}
	nsPort := nsPortBase
	for i, v := range s.VMs {
		vm, err := planVM(s, i, v, &nsPort)
		if err != nil {
			return Plan{}, err
		}
		if seen[vm.Name] {
			return Plan{}, fmt.Errorf("VM name %q is used twice", vm.Name)
		}
		seen[vm.Name] = true
		p.VMs = append(p.VMs, vm)
	}
	return p, nil
}

func withDefaults(s Spec) Spec {
	if !s.Subnet.IsValid() {
		s.Subnet = DefaultSubnet
	}
	if s.Domain == "" {
		s.Domain = DefaultDomain
	}
	if s.MTU == 0 {
		s.MTU = 1500
	}
	if s.MACPrefix == "" {
		s.MACPrefix = "52:54:00"
	}
	s.MACPrefix = strings.ToLower(s.MACPrefix)
	if s.VMPort == 0 {
		s.VMPort = 22
	}
	return s
}

func checkSpec(s Spec) error {
	if err := checkSubnet(s.Subnet); err != nil {
		return err
	}
	if !dnsLabel.MatchString(s.Domain) {
		return fmt.Errorf("network domain %q: not a DNS label (a-z, 0-9, -)", s.Domain)
	}
	if s.MTU < 576 || s.MTU > 65520 {
		return fmt.Errorf("network MTU %d: not between 576 and 65520", s.MTU)
	}
	if !macPrefix.MatchString(s.MACPrefix) {
		return fmt.Errorf("network MAC prefix %q: not three bytes like 52:54:00", s.MACPrefix)
	}
	if s.VMPort < 1 || s.VMPort > 65535 {
		return fmt.Errorf("network VM port %d: not between 1 and 65535", s.VMPort)
	}
	if s.MinHostPort != 0 || s.MaxHostPort != 0 {
		if s.MinHostPort < 1024 || s.MaxHostPort > 65535 || s.MinHostPort > s.MaxHostPort {
			return fmt.Errorf("network host ports %d-%d: not a range within 1024-65535", s.MinHostPort, s.MaxHostPort)
		}
	}
	return nil
}

func checkSubnet(n netip.Prefix) error {
	if !n.Addr().Is4() {
		return fmt.Errorf("network subnet %s: only IPv4 is supported", n)
	}
	if n.Bits() < 8 || n.Bits() > 28 {
		return fmt.Errorf("network subnet %s: the prefix length must be between 8 and 28", n)
	}
	if n.Overlaps(uplinkNet) {
		return fmt.Errorf("network subnet %s overlaps the uplink's %s", n, uplinkNet)
	}
	return nil
}

func planVM(s Spec, i int, v VMSpec, nsPort *int) (VMNet, error) {
	vm := VMNet{Index: i, Name: v.Name, Tap: "vmtap" + strconv.Itoa(i)}
	if vm.Name == "" {
		vm.Name = "vm" + strconv.Itoa(i)
	}
	if !dnsLabel.MatchString(vm.Name) {
		return VMNet{}, fmt.Errorf("VM name %q: not a DNS label (a-z, 0-9, -)", vm.Name)
	}
	vm.MAC = fmt.Sprintf("%s:c8:%02x:%02x", s.MACPrefix, i>>8&0xff, i&0xff)
	a := s.Subnet.Masked().Addr().As4()
	host := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	host += uint32(firstVMHost + i)
	vm.Addr = netip.AddrFrom4([4]byte{byte(host >> 24), byte(host >> 16), byte(host >> 8), byte(host)})
	ports, err := guestPorts(s.VMPort, v.Ports)
	if err != nil {
		return VMNet{}, fmt.Errorf("VM %s: %w", vm.Name, err)
	}
	for _, gp := range ports {
		vm.Forwards = append(vm.Forwards, Forward{GuestPort: gp, NSPort: *nsPort})
		*nsPort++
	}
	return vm, nil
}

// guestPorts: first, then the others sorted, each once.
func guestPorts(first int, extra []int) ([]int, error) {
	set := map[int]bool{first: true}
	out := []int{first}
	var rest []int
	for _, p := range extra {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d is not between 1 and 65535", p)
		}
		if !set[p] {
			set[p] = true
			rest = append(rest, p)
		}
	}
	sort.Ints(rest)
	return append(out, rest...), nil
}

// SetupCommands are what the holder runs inside the namespaces, in order,
// before nft and dnsmasq.
func (p Plan) SetupCommands() [][]string {
	cmds := [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", Bridge, "mtu", strconv.Itoa(p.MTU), "type", "bridge"},
		{"ip", "addr", "add", netip.PrefixFrom(p.BridgeAddr, p.Subnet.Bits()).String(), "dev", Bridge},
		{"ip", "link", "set", Bridge, "up"},
	}
	for _, vm := range p.VMs {
		cmds = append(cmds,
			[]string{"ip", "tuntap", "add", "dev", vm.Tap, "mode", "tap"},
			[]string{"ip", "link", "set", vm.Tap, "mtu", strconv.Itoa(p.MTU), "master", Bridge, "up"})
	}
	return cmds
}

// NFTRules is the nftables ruleset (nft -f): masquerade what leaves through
// the uplink (or, with NoOutbound, drop the VMs' new connections there),
// DNAT each forwarded namespace port to its VM.
func (p Plan) NFTRules() string {
	var b strings.Builder
	b.WriteString("table ip pcocc {\n")
	b.WriteString("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	for _, vm := range p.VMs {
		for _, f := range vm.Forwards {
			fmt.Fprintf(&b, "\t\tiifname %q tcp dport %d dnat to %s:%d\n", UplinkTap, f.NSPort, vm.Addr, f.GuestPort)
		}
	}
	b.WriteString("\t}\n")
	b.WriteString("\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\toifname %q masquerade\n", UplinkTap)
	b.WriteString("\t}\n")
	if p.NoOutbound {
		b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
		fmt.Fprintf(&b, "\t\tiifname %q oifname %q ct state new drop\n", Bridge, UplinkTap)
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// DnsmasqArgs: DHCP with a static lease per VM and DNS for vmN and
// vmN.DOMAIN (known before any lease), other names asked of slirp's DNS.
// dir holds the lease and pid files.
func (p Plan) DnsmasqArgs(dir string) []string {
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
		"--user=", "--group=", // no privileges to drop: it fails otherwise
		"--pid-file=" + dir + "/dnsmasq.pid",
		"--dhcp-leasefile=" + dir + "/dnsmasq.leases",
		"--log-facility=-",
		"--interface=" + Bridge, "--bind-interfaces",
		"--dhcp-authoritative",
		fmt.Sprintf("--dhcp-range=%s,static,%s,infinite", p.Subnet.Addr(), netmask(p.Subnet)),
		"--domain=" + p.Domain, "--local=/" + p.Domain + "/", "--expand-hosts",
		"--server=" + uplinkDNS,
		"--dhcp-option=option:mtu," + strconv.Itoa(p.MTU),
	}
	for _, vm := range p.VMs {
		args = append(args,
			fmt.Sprintf("--dhcp-host=%s,%s,%s,infinite", vm.MAC, vm.Addr, vm.Name),
			fmt.Sprintf("--host-record=%s,%s.%s,%s", vm.Name, vm.Name, p.Domain, vm.Addr))
	}
	return args
}

func netmask(p netip.Prefix) string {
	m := ^uint32(0) << (32 - p.Bits())
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// VM returns the VM of that name.
func (p Plan) VM(name string) (VMNet, bool) {
	for _, vm := range p.VMs {
		if vm.Name == name {
			return vm, true
		}
	}
	return VMNet{}, false
}
