// Package vmsetup builds, as root on each Slurm node, the network of a VM
// cluster: a bridge per cluster, the taps of the node's VMs (owned by the
// job's user), a VXLAN device to the cluster's other nodes, and a "node
// namespace" per cluster that joins the bridge to the host through a
// link-local veth (reverse NAT; on node 0 also the gateway, DHCP/DNS and
// masquerade out). Plan is pure; Execute runs a plan and records each object
// in a tracker before creating it, so that Undo (or a later reclaim) removes
// everything.
package vmsetup

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/vmnet"
)

// Link-local /30 slots for the host<->node-namespace veths: slot s uses
// 169.254.0.0 + 4s (host .1, namespace .2); slots below SlotMin are kept
// clear of 169.254.0.0/24.
const (
	SlotMin = 64
	SlotMax = 16319 // 169.254.254.252/30
)

// Slurm job ids are 32-bit; VM indexes fit 3 base36 digits (names ≤ 15).
const (
	MaxJob = 1<<32 - 1
	MaxVMs = 36 * 36 * 36
)

// VXLANPort is the UDP port of every VXLAN device.
const VXLANPort = 4789

// Node is one node of the job.
type Node struct {
	Name string
	Addr netip.Addr
}

// Request is what the plan needs; every value has been validated by the
// caller (numbers in range, addresses resolved by root).
type Request struct {
	Job      uint64
	UID, GID int
	NodeID   int
	Nodes    []Node
	LocalVMs []int // global VM indexes (task ids) on this node
	TotalVMs int
	Network  string // its name in networks.yaml
	Net      vmnet.Spec
	MTU      int                 // guest MTU (underlay - 50, or less)
	VNI      int                 // from etcd
	Slot     int                 // link-local slot, free on this node
	Extra    []int               // guest ports forwarded besides Net.VMPort (the templates')
	Ports    map[int]map[int]int // VM index -> guest port -> host port (reverse NAT)
	RunDir   string              // for dnsmasq's pid and lease files
	DNS      []netip.Addr        // the node's resolvers: dnsmasq forwards other names to them
}

// Action is one step: Do creates an object, Undo removes it (both argv).
type Action struct {
	Do    []string
	Stdin string `json:",omitempty"`
	Undo  []string
}

// VMEnv is what a task's environment gets (PCOCC_VM_*).
type VMEnv struct {
	Index            int
	Name, Tap, MAC   string
	Addr             netip.Addr
	HostPorts        map[int]int // guest port -> host port
	MTU              int
	Network, NodeTag string
}

// Plan is the whole setup of one node for one job.
type Plan struct {
	Names   Names
	Actions []Action
	VMs     []VMEnv
	Files   []string // files the actions create (removed by the undo)
}

// Names are the node's object names for a job: unique per job (base36 job
// id), at most 15 characters (IFNAMSIZ-1).
type Names struct {
	Bridge, VXLAN, NS, VethHost, VethNS, VethBr, Table string
}

// Base36 is the job's tag in object names.
func Base36(job uint64) string { return strconv.FormatUint(job, 36) }

// NamesOf gives a job's names.
func NamesOf(job uint64) Names {
	j := Base36(job)
	return Names{Bridge: "pcb" + j, VXLAN: "pcx" + j, NS: "pcocc-" + j,
		VethHost: "pch" + j, VethNS: "pcn" + j, VethBr: "pcg" + j, Table: "pcocc_" + j}
}

// TapName is the tap of VM index vm of the job.
func TapName(job uint64, vm int) string {
	return "pct" + Base36(job) + "v" + strconv.FormatInt(int64(vm), 36)
}

// SlotAddrs are the host and namespace ends of a link-local slot.
func SlotAddrs(slot int) (host, ns netip.Addr) {
	n := 0xa9fe0000 + uint32(slot)*4 // 169.254.0.0
	a := func(v uint32) netip.Addr {
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	return a(n + 1), a(n + 2)
}

// NewPlan lays out the node's part of the cluster.
func NewPlan(r Request) (Plan, error) {
	if err := check(r); err != nil {
		return Plan{}, err
	}
	spec := r.Net
	spec.MTU = r.MTU
	spec.VMs = make([]vmnet.VMSpec, r.TotalVMs)
	lay, err := vmnet.NewPlan(spec)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Names: NamesOf(r.Job)}
	// named namespaces are global to a machine: two "nodes" of a test (or of
	// the CI fabric) on one kernel must not share one
	p.Names.NS += "-" + strconv.Itoa(r.NodeID)
	p.add(p.bridge(r)...)
	p.add(p.vxlan(r)...)
	for _, i := range r.LocalVMs {
		vm := lay.VMs[i]
		tap := TapName(r.Job, i)
		p.add(p.tap(r, tap)...)
		p.VMs = append(p.VMs, VMEnv{Index: i, Name: vm.Name, Tap: tap, MAC: vm.MAC, Addr: vm.Addr,
			HostPorts: r.Ports[i], MTU: r.MTU, Network: r.Network})
	}
	p.add(p.nodeNS(r, lay)...)
	p.add(p.hostNAT(r, lay)...)
	if r.NodeID == 0 {
		p.add(p.dnsmasq(r, lay))
		p.Files = append(p.Files, pidFile(r))
	}
	return p, nil
}

func (p *Plan) add(a ...Action) { p.Actions = append(p.Actions, a...) }

func check(r Request) error {
	switch {
	case r.Job < 1 || r.Job > MaxJob:
		return fmt.Errorf("job id %d: not in 1-%d", r.Job, uint64(MaxJob))
	case r.TotalVMs > MaxVMs:
		return fmt.Errorf("%d VMs: more than %d", r.TotalVMs, MaxVMs)
	case r.NodeID < 0 || r.NodeID >= len(r.Nodes):
		return fmt.Errorf("node id %d: not in 0-%d", r.NodeID, len(r.Nodes)-1)
	case r.TotalVMs < 1 || len(r.LocalVMs) > r.TotalVMs:
		return fmt.Errorf("%d local VMs of %d", len(r.LocalVMs), r.TotalVMs)
	case r.VNI < 1 || r.VNI > 1<<24-1:
		return fmt.Errorf("VNI %d: not in 1-16777215", r.VNI)
	case r.Slot < SlotMin || r.Slot > SlotMax:
		return fmt.Errorf("link-local slot %d: not in %d-%d", r.Slot, SlotMin, SlotMax)
	case r.MTU < 576:
		return fmt.Errorf("MTU %d: below 576", r.MTU)
	}
	for _, i := range r.LocalVMs {
		if i < 0 || i >= r.TotalVMs {
			return fmt.Errorf("VM index %d: not in 0-%d", i, r.TotalVMs-1)
		}
		for _, g := range guestPorts(r) {
			if p := r.Ports[i][g]; p < 1 || p > 65535 {
				return fmt.Errorf("VM %d: host port %d (guest port %d) not in 1-65535", i, p, g)
			}
		}
	}
	for _, n := range r.Nodes {
		if !n.Addr.Is4() {
			return fmt.Errorf("node %s: address %v is not IPv4", n.Name, n.Addr)
		}
	}
	return nil
}

func (p *Plan) bridge(r Request) []Action {
	b := p.Names.Bridge
	return []Action{
		{Do: ipc("link", "add", b, "mtu", strconv.Itoa(r.MTU), "type", "bridge"), Undo: ipc("link", "del", b)},
		{Do: ipc("link", "set", b, "up")},
	}
}

func (p *Plan) vxlan(r Request) []Action {
	x, local := p.Names.VXLAN, r.Nodes[r.NodeID].Addr.String()
	acts := []Action{{Do: ipc("link", "add", x, "mtu", strconv.Itoa(r.MTU), "type", "vxlan", "id", strconv.Itoa(r.VNI),
		"dstport", strconv.Itoa(VXLANPort), "local", local), Undo: ipc("link", "del", x)}}
	for i, n := range r.Nodes {
		if i != r.NodeID {
			acts = append(acts, Action{Do: []string{"bridge", "fdb", "append", "00:00:00:00:00:00", "dev", x, "dst", n.Addr.String()}})
		}
	}
	return append(acts, Action{Do: ipc("link", "set", x, "master", p.Names.Bridge, "up")})
}

func (p *Plan) tap(r Request, tap string) []Action {
	return []Action{
		{Do: ipc("tuntap", "add", "dev", tap, "mode", "tap", "user", strconv.Itoa(r.UID), "group", strconv.Itoa(r.GID)),
			Undo: ipc("link", "del", tap)},
		{Do: ipc("link", "set", tap, "mtu", strconv.Itoa(r.MTU), "master", p.Names.Bridge, "up")},
	}
}

// nsAddr is the node namespace's address on the cluster network: the
// gateway on node 0, else one from the top of the subnet (below broadcast).
func nsAddr(r Request, lay vmnet.Plan) netip.Addr {
	if r.NodeID == 0 {
		return lay.BridgeAddr
	}
	a := lay.Subnet.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(1)<<(32-lay.Subnet.Bits()) - 2 - uint32(r.NodeID-1)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (p *Plan) nodeNS(r Request, lay vmnet.Plan) []Action {
	n, ns := p.Names, p.Names.NS
	host, nsll := SlotAddrs(r.Slot)
	in := func(argv ...string) []string { return append([]string{"ip", "netns", "exec", ns}, argv...) }
	addr := netip.PrefixFrom(nsAddr(r, lay), lay.Subnet.Bits()).String()
	return []Action{
		{Do: ipc("netns", "add", ns), Undo: ipc("netns", "del", ns)},
		{Do: in("ip", "link", "set", "lo", "up")},
		// to the bridge: eth0 inside
		{Do: ipc("link", "add", n.VethBr, "mtu", strconv.Itoa(r.MTU), "type", "veth", "peer", "name", "eth0", "netns", ns),
			Undo: ipc("link", "del", n.VethBr)},
		{Do: ipc("link", "set", n.VethBr, "master", n.Bridge, "up")},
		{Do: in("ip", "addr", "add", addr, "dev", "eth0")},
		{Do: in("ip", "link", "set", "eth0", "up")},
		// to the host: link-local /30
		{Do: ipc("link", "add", n.VethHost, "type", "veth", "peer", "name", "up0", "netns", ns),
			Undo: ipc("link", "del", n.VethHost)},
		{Do: ipc("addr", "add", host.String()+"/30", "dev", n.VethHost)},
		{Do: ipc("link", "set", n.VethHost, "up")},
		{Do: in("ip", "addr", "add", nsll.String()+"/30", "dev", "up0")},
		{Do: in("ip", "link", "set", "up0", "up")},
		{Do: in("ip", "route", "add", "default", "via", host.String())},
		{Do: in("sysctl", "-qw", "net.ipv4.ip_forward=1")},
		{Do: in("nft", "-f", "-"), Stdin: nsRules(r, lay)},
	}
}

// nsRules: reverse NAT from up0 to the local VMs; what goes out on eth0 is
// masqueraded (the VM answers this namespace, not the gateway on node 0);
// on node 0 what goes out on up0 too (the cluster's outbound, unless
// NoOutbound); only DNAT'ed connections cross from up0 to eth0.
func nsRules(r Request, lay vmnet.Plan) string {
	var b strings.Builder
	b.WriteString("table ip pcocc {\n\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	for _, i := range r.LocalVMs {
		for _, g := range guestPorts(r) {
			fmt.Fprintf(&b, "\t\tiifname \"up0\" tcp dport %d dnat to %s:%d\n", r.Ports[i][g], lay.VMs[i].Addr, g)
		}
	}
	b.WriteString("\t}\n\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	b.WriteString("\t\toifname \"eth0\" iifname \"up0\" masquerade\n")
	if r.NodeID == 0 && !r.Net.NoOutbound {
		b.WriteString("\t\toifname \"up0\" masquerade\n")
	}
	b.WriteString("\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n")
	b.WriteString("\t\tct state established,related accept\n\t\tiifname \"up0\" ct status dnat accept\n")
	if r.NodeID == 0 && !r.Net.NoOutbound {
		b.WriteString("\t\tiifname \"eth0\" oifname \"up0\" accept\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func vmPort(r Request) int {
	if r.Net.VMPort == 0 {
		return 22
	}
	return r.Net.VMPort
}

// guestPorts are the guest ports every VM gets a host port for: the
// network's vm-port first, then the others (each once, in their order).
func guestPorts(r Request) []int {
	ps := []int{vmPort(r)}
	for _, p := range r.Extra {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// hostNAT: the host's table for the job: its reverse-NAT ports go to the
// node namespace (same port), and the node namespace's outbound traffic is
// masqueraded.
func (p *Plan) hostNAT(r Request, _ vmnet.Plan) []Action {
	_, nsll := SlotAddrs(r.Slot)
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s {\n", p.Names.Table)
	for _, hook := range []string{"prerouting", "output"} {
		fmt.Fprintf(&b, "\tchain %s {\n\t\ttype nat hook %s priority -100; policy accept;\n", hook, hook)
		for _, i := range r.LocalVMs {
			for _, g := range guestPorts(r) {
				fmt.Fprintf(&b, "\t\tfib daddr type local tcp dport %d dnat to %s:%d\n", r.Ports[i][g], nsll, r.Ports[i][g])
			}
		}
		b.WriteString("\t}\n")
	}
	fmt.Fprintf(&b, "\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\tip saddr %s oifname != %q masquerade\n\t}\n}\n", nsll, p.Names.VethHost)
	return []Action{
		{Do: []string{"sysctl", "-qw", "net.ipv4.ip_forward=1"}},
		{Do: []string{"nft", "-f", "-"}, Stdin: b.String(), Undo: []string{"nft", "delete", "table", "ip", p.Names.Table}},
	}
}

func (p *Plan) dnsmasq(r Request, lay vmnet.Plan) Action {
	pid := pidFile(r)
	mask := netip.PrefixFrom(netip.IPv4Unspecified(), lay.Subnet.Bits())
	argv := []string{"ip", "netns", "exec", p.Names.NS, "dnsmasq", "--conf-file=/dev/null", "--pid-file=" + pid,
		"--user=nobody", "--group=nogroup", "--interface=eth0", "--bind-interfaces", "--except-interface=lo",
		"--leasefile-ro", "--no-resolv", "--no-hosts",
		"--dhcp-range=" + lay.Subnet.Addr().String() + ",static," + maskString(mask.Bits()),
		"--dhcp-option=26," + strconv.Itoa(r.MTU),
		"--domain=" + lay.Domain, "--local=/" + lay.Domain + "/", "--expand-hosts"}
	// Names outside the cluster go to the node's resolvers, reached through
	// the namespace's uplink (the cluster's outbound NAT): none when the
	// network allows no outbound traffic.
	if !r.Net.NoOutbound {
		for _, a := range r.DNS {
			argv = append(argv, "--server="+a.String())
		}
	}
	for _, vm := range lay.VMs {
		argv = append(argv, fmt.Sprintf("--dhcp-host=%s,%s,%s", vm.MAC, vm.Addr, vm.Name),
			fmt.Sprintf("--host-record=%s.%s,%s,%s", vm.Name, lay.Domain, vm.Name, vm.Addr))
	}
	return Action{Do: argv, Undo: []string{"pkill", "-F", pid}}
}

func pidFile(r Request) string { return fmt.Sprintf("%s/%s.dnsmasq.pid", r.RunDir, Base36(r.Job)) }

func maskString(bits int) string {
	m := ^uint32(0) << (32 - bits)
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

func ipc(args ...string) []string { return append([]string{"ip"}, args...) }
