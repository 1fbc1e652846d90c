package vmnet

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewPlan(t *testing.T) {
	p, err := NewPlan(Spec{VMs: []VMSpec{{}, {Ports: []int{8080, 22, 80, 8080}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := Plan{
		Subnet:     netip.MustParsePrefix("10.200.0.0/24"),
		BridgeAddr: netip.MustParseAddr("10.200.0.1"),
		Domain:     "pcocc",
		MTU:        1500,
		VMs: []VMNet{
			{Index: 0, Name: "vm0", Tap: "vmtap0", MAC: "52:54:00:c8:00:00", Addr: netip.MustParseAddr("10.200.0.10"),
				Forwards: []Forward{{GuestPort: 22, NSPort: 20000}}},
			{Index: 1, Name: "vm1", Tap: "vmtap1", MAC: "52:54:00:c8:00:01", Addr: netip.MustParseAddr("10.200.0.11"),
				Forwards: []Forward{{GuestPort: 22, NSPort: 20001}, {GuestPort: 80, NSPort: 20002}, {GuestPort: 8080, NSPort: 20003}}},
		},
	}
	if d := cmp.Diff(want, p, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestNewPlanAddresses(t *testing.T) {
	for _, tc := range []struct {
		subnet, bridge, vm300 string
	}{
		{"10.1.0.0/16", "10.1.0.1", "10.1.1.54"}, // .10 + 300 crosses a byte
		{"192.168.7.77/16", "192.168.0.1", "192.168.1.54"},
	} {
		specs := make([]VMSpec, 301)
		p, err := NewPlan(Spec{Subnet: netip.MustParsePrefix(tc.subnet), VMs: specs})
		if err != nil {
			t.Fatalf("%s: %v", tc.subnet, err)
		}
		if p.BridgeAddr.String() != tc.bridge || p.VMs[300].Addr.String() != tc.vm300 || p.VMs[300].MAC != "52:54:00:c8:01:2c" {
			t.Errorf("%s: bridge %s, vm300 %s %s", tc.subnet, p.BridgeAddr, p.VMs[300].Addr, p.VMs[300].MAC)
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Subnet: netip.MustParsePrefix("10.0.0.0/8")}, "overlaps the uplink's 10.0.2.0/24"},
		{Spec{Subnet: netip.MustParsePrefix("fd00::/64")}, "only IPv4"},
		{Spec{Subnet: netip.MustParsePrefix("10.9.0.0/30")}, "between 8 and 28"},
		{Spec{Subnet: netip.MustParsePrefix("10.9.0.0/28"), VMs: make([]VMSpec, 6)}, "room for 5 VMs, not 6"},
		{Spec{Domain: "Bad_Domain"}, `domain "Bad_Domain": not a DNS label`},
		{Spec{VMs: []VMSpec{{Name: "a"}, {Name: "a"}}}, `"a" is used twice`},
		{Spec{VMs: []VMSpec{{Name: "vm 1"}}}, `VM name "vm 1": not a DNS label`},
		{Spec{VMs: []VMSpec{{Ports: []int{70000}}}}, "VM vm0: port 70000 is not between 1 and 65535"},
		{Spec{MTU: 100}, "MTU 100: not between 576 and 65520"},
		{Spec{MACPrefix: "52:54"}, `MAC prefix "52:54": not three bytes`},
		{Spec{VMPort: -1}, "VM port -1"},
		{Spec{MinHostPort: 3000, MaxHostPort: 2000}, "host ports 3000-2000: not a range"},
		{Spec{MinHostPort: 80, MaxHostPort: 2000}, "host ports 80-2000: not a range"},
	} {
		_, err := NewPlan(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
}

func TestPlanTexts(t *testing.T) {
	p, err := NewPlan(Spec{VMs: []VMSpec{{}, {Name: "node", Ports: []int{80}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantNFT := `table ip pcocc {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "tap0" tcp dport 20000 dnat to 10.200.0.10:22
		iifname "tap0" tcp dport 20001 dnat to 10.200.0.11:22
		iifname "tap0" tcp dport 20002 dnat to 10.200.0.11:80
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "tap0" masquerade
	}
}
`
	if d := cmp.Diff(wantNFT, p.NFTRules()); d != "" {
		t.Errorf("nft (-want +got):\n%s", d)
	}
	args := strings.Join(p.DnsmasqArgs("/d"), " ")
	for _, w := range []string{
		"--dhcp-range=10.200.0.0,static,255.255.255.0,infinite",
		"--dhcp-host=52:54:00:c8:00:01,10.200.0.11,node,infinite",
		"--host-record=node,node.pcocc,10.200.0.11",
		"--dhcp-leasefile=/d/dnsmasq.leases", "--user= --group=", "--interface=br0 --bind-interfaces",
		"--dhcp-option=option:mtu,1500",
	} {
		if !strings.Contains(args, w) {
			t.Errorf("dnsmasq args lack %q: %s", w, args)
		}
	}
	cmds := p.SetupCommands()
	got := make([]string, len(cmds))
	for i, c := range cmds {
		got[i] = strings.Join(c, " ")
	}
	want := []string{
		"ip link set lo up", "ip link add br0 mtu 1500 type bridge", "ip addr add 10.200.0.1/24 dev br0", "ip link set br0 up",
		"ip tuntap add dev vmtap0 mode tap", "ip link set vmtap0 mtu 1500 master br0 up",
		"ip tuntap add dev vmtap1 mode tap", "ip link set vmtap1 mtu 1500 master br0 up",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("setup (-want +got):\n%s", d)
	}
}

func TestPlanSettings(t *testing.T) {
	p, err := NewPlan(Spec{MTU: 9000, MACPrefix: "02:AB:cd", NoOutbound: true, VMPort: 2222,
		VMs: []VMSpec{{Ports: []int{2222, 80}}}})
	if err != nil {
		t.Fatal(err)
	}
	vm := p.VMs[0]
	if vm.MAC != "02:ab:cd:c8:00:00" || len(vm.Forwards) != 2 || vm.Forwards[0].GuestPort != 2222 || vm.Forwards[1].GuestPort != 80 {
		t.Errorf("vm0: %+v", vm)
	}
	if !strings.Contains(p.NFTRules(), "\t\tiifname \"br0\" oifname \"tap0\" ct state new drop\n") {
		t.Errorf("no outbound, rules:\n%s", p.NFTRules())
	}
	if !strings.Contains(strings.Join(p.DnsmasqArgs("/d"), " "), "--dhcp-option=option:mtu,9000") ||
		!strings.Contains(strings.Join(p.SetupCommands()[1], " "), "mtu 9000") {
		t.Errorf("MTU 9000 not everywhere")
	}
}
