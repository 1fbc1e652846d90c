package vmsetup

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/vmnet"
)

func req() Request {
	return Request{Job: 123456, UID: 1001, GID: 1001, NodeID: 0,
		Nodes:    []Node{{"n1", netip.MustParseAddr("10.9.0.1")}, {"n2", netip.MustParseAddr("10.9.0.2")}},
		LocalVMs: []int{0, 1}, TotalVMs: 3, Network: "cluster", MTU: 1450, VNI: 1024, Slot: 64,
		Ports: map[int]map[int]int{0: {22: 60000}, 1: {22: 60001}, 2: {22: 60000}}, RunDir: "/run/pcocc/tracker"}
}

func TestNames(t *testing.T) {
	for _, job := range []uint64{0, 1, 123456, 1<<32 - 1} {
		n := NamesOf(job)
		for _, s := range []string{n.Bridge, n.VXLAN, n.VethHost, n.VethNS, n.VethBr, TapName(job, MaxVMs-1)} {
			if len(s) > 15 {
				t.Errorf("job %d: %q longer than 15", job, s)
			}
		}
	}
	if a, b := NamesOf(35).Bridge, NamesOf(36).Bridge; a == b {
		t.Errorf("jobs 35 and 36 share %s", a)
	}
	if h, n := SlotAddrs(64); h.String() != "169.254.1.1" || n.String() != "169.254.1.2" {
		t.Errorf("slot 64: %s %s", h, n)
	}
	if h, _ := SlotAddrs(SlotMax); h.String() != "169.254.254.253" {
		t.Errorf("slot max: %s", h)
	}
}

func cmds(p Plan) string {
	var b strings.Builder
	for _, a := range p.Actions {
		b.WriteString(strings.Join(a.Do, " ") + "\n")
	}
	return b.String()
}

// nftRules are the rules a plan feeds nft: the host's table and the node
// namespace's.
func nftRules(p Plan) (host, ns string) {
	for _, a := range p.Actions {
		if a.Stdin != "" && a.Do[0] == "nft" {
			host = a.Stdin
		} else if a.Stdin != "" {
			ns = a.Stdin
		}
	}
	return host, ns
}

func TestPlan(t *testing.T) {
	p, err := NewPlan(req())
	if err != nil {
		t.Fatal(err)
	}
	all := cmds(p)
	for _, want := range []string{
		"ip link add pcb2n9c mtu 1450 type bridge",
		"ip link add pcx2n9c mtu 1450 type vxlan id 1024 dstport 4789 local 10.9.0.1",
		"bridge fdb append 00:00:00:00:00:00 dev pcx2n9c dst 10.9.0.2",
		"ip tuntap add dev pct2n9cv0 mode tap user 1001 group 1001",
		"ip tuntap add dev pct2n9cv1 mode tap user 1001 group 1001",
		"ip netns exec pcocc-2n9c-0 ip addr add 10.200.0.1/24 dev eth0",
		"ip addr add 169.254.1.1/30 dev pch2n9c",
		"--dhcp-host=52:54:00:c8:00:02,10.200.0.12,vm2",
		"--dhcp-option=26,1450",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("plan lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "dst 10.9.0.1") {
		t.Error("node 0 is its own VXLAN remote")
	}
	if len(p.VMs) != 2 || p.VMs[1].Tap != "pct2n9cv1" || p.VMs[1].Addr.String() != "10.200.0.11" || p.VMs[1].HostPorts[22] != 60001 {
		t.Errorf("VMs %+v", p.VMs)
	}
	host, ns := nftRules(p)
	for _, want := range []string{"tcp dport 60001 dnat to 169.254.1.2:60001", "ip saddr 169.254.1.2 oifname != \"pch2n9c\" masquerade"} {
		if !strings.Contains(host, want) {
			t.Errorf("host rules lack %q:\n%s", want, host)
		}
	}
	for _, want := range []string{"iifname \"up0\" tcp dport 60001 dnat to 10.200.0.11:22", "oifname \"up0\" masquerade"} {
		if !strings.Contains(ns, want) {
			t.Errorf("namespace rules lack %q:\n%s", want, ns)
		}
	}
	// every object created is undone
	for _, a := range p.Actions {
		creates := (a.Do[1] == "link" && a.Do[2] == "add") || a.Do[1] == "tuntap" || a.Do[1] == "netns" && a.Do[2] == "add" ||
			strings.Contains(strings.Join(a.Do, " "), "dnsmasq") || (a.Do[0] == "nft" && a.Stdin != "")
		if creates {
			if a.Undo == nil {
				t.Errorf("%v has no undo", a.Do)
			}
		}
	}
}

func TestPlanNode1(t *testing.T) {
	r := req()
	r.NodeID, r.LocalVMs = 1, []int{2}
	r.Net = vmnet.Spec{NoOutbound: true}
	p, err := NewPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	all := cmds(p)
	for _, bad := range []string{"dnsmasq", "dst 10.9.0.2", "10.200.0.1/24"} {
		if strings.Contains(all, bad) {
			t.Errorf("node 1's plan has %q:\n%s", bad, all)
		}
	}
	if !strings.Contains(all, "ip addr add 10.200.0.254/24 dev eth0") || !strings.Contains(all, "dst 10.9.0.1") {
		t.Errorf("node 1's plan:\n%s", all)
	}
}

func TestPlanErrors(t *testing.T) {
	for name, c := range map[string]struct {
		mod  func(*Request)
		want string
	}{
		"node id":  {func(r *Request) { r.NodeID = 2 }, "node id 2"},
		"vm index": {func(r *Request) { r.LocalVMs = []int{3} }, "VM index 3"},
		"too many": {func(r *Request) { r.TotalVMs = 1 }, "2 local VMs of 1"},
		"vni":      {func(r *Request) { r.VNI = 1 << 24 }, "VNI"},
		"slot":     {func(r *Request) { r.Slot = 1 }, "slot 1"},
		"port":     {func(r *Request) { r.Ports[1] = map[int]int{22: 70000} }, "host port 70000"},
		"no port":  {func(r *Request) { r.Extra = []int{80} }, "host port 0 (guest port 80)"},
		"ipv6":     {func(r *Request) { r.Nodes[1].Addr = netip.MustParseAddr("::1") }, "not IPv4"},
		"mtu":      {func(r *Request) { r.MTU = 100 }, "MTU 100"},
		"subnet":   {func(r *Request) { r.Net.Subnet = netip.MustParsePrefix("10.0.0.0/30") }, "prefix length"},
	} {
		r := req()
		c.mod(&r)
		if _, err := NewPlan(r); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestPlanExtraPorts: the templates' ports get their own host ports, DNAT'ed
// on the host to the node namespace and there to the VM's same guest port.
func TestPlanExtraPorts(t *testing.T) {
	r := req()
	r.Extra = []int{8080, 22, 443}
	r.Ports = map[int]map[int]int{0: {22: 60000, 8080: 60002, 443: 60004}, 1: {22: 60001, 8080: 60003, 443: 60005}}
	if g := guestPorts(r); len(g) != 3 || g[0] != 22 || g[1] != 8080 || g[2] != 443 {
		t.Fatalf("guest ports %v", g)
	}
	p, err := NewPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	host, ns := nftRules(p)
	for _, want := range []string{"dport 60003 dnat to 10.200.0.11:8080", "dport 60004 dnat to 10.200.0.10:443",
		"dport 60001 dnat to 10.200.0.11:22"} {
		if !strings.Contains(ns, want) {
			t.Errorf("namespace rules lack %q:\n%s", want, ns)
		}
	}
	if n := strings.Count(host, "dnat to 169.254.1.2:"); n != 12 { // 6 ports, two hooks
		t.Errorf("%d host DNAT rules, want 12:\n%s", n, host)
	}
	if v := p.VMs[1].HostPorts; len(v) != 3 || v[443] != 60005 {
		t.Errorf("VM 1's host ports %v", v)
	}
}

// TestDNSForwarding: other names go to the node's reachable resolvers,
// unless the network allows no outbound traffic.
func TestDNSForwarding(t *testing.T) {
	dns := Resolvers("# x\nnameserver 127.0.0.53\nnameserver 10.1.2.3\nnameserver ::1\nnameserver fe80::1\nnameserver bogus\noptions edns0\nnameserver 10.1.2.4 # two\n")
	if fmt.Sprint(dns) != "[10.1.2.3 10.1.2.4]" {
		t.Fatalf("resolvers %v", dns)
	}
	r := req()
	r.DNS = dns
	p, err := NewPlan(r)
	if err != nil {
		t.Fatal(err)
	}
	if all := cmds(p); !strings.Contains(all, "--server=10.1.2.3 --server=10.1.2.4") || !strings.Contains(all, "--no-resolv") {
		t.Errorf("dnsmasq does not forward to the node's resolvers:\n%s", all)
	}
	r.Net.NoOutbound = true
	p, _ = NewPlan(r)
	if strings.Contains(cmds(p), "--server=") {
		t.Error("a network without outbound traffic forwards DNS")
	}
}
