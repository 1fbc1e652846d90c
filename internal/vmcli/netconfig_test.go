package vmcli

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmnet"
)

// TestNetworkSpec: the cluster's network is the one networks.yaml and
// resources.yaml give the templates, not vmnet's built-in one.
func TestNetworkSpec(t *testing.T) {
	sys := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(sys, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("networks.yaml", `
cluster:
  type: ethernet
  settings: {network: 10.77.3.9/16, domain-name: lab, mtu: 1400, allow-outbound: none,
             reverse-nat: {vm-port: 2222, min-host-port: 30000, max-host-port: 30009}}
other:
  type: ethernet
`)
	write("resources.yaml", `
default: {networks: [cluster], default: true}
apart: {networks: [other]}
`)
	env := func(k string) string {
		return map[string]string{"PCOCC_SYSTEM_CONF_DIR": sys, "HOME": t.TempDir()}[k]
	}
	cat := &catalog{cfg: config.Load(config.DefaultDirs(env), env), used: map[string]config.VMTemplate{
		"a": {Name: "a"}, "b": {Name: "b"}, "c": {Name: "c", ResourceSet: "apart"}, "d": {Name: "d", ResourceSet: "nosuch"},
	}}
	vms := func(names ...string) []vm.VM {
		var out []vm.VM
		for _, n := range names {
			out = append(out, vm.VM{Template: vm.Template{Name: n}})
		}
		return out
	}
	got, err := cat.networkSpec(vms("a", "b"))
	want := vmnet.Spec{Subnet: netip.MustParsePrefix("10.77.0.0/16"), Domain: "lab", MTU: 1400, MACPrefix: "52:54:00",
		NoOutbound: true, VMPort: 2222, MinHostPort: 30000, MaxHostPort: 30009}
	if err != nil || got.Subnet != want.Subnet || got.Domain != want.Domain || got.MTU != want.MTU || got.MACPrefix != want.MACPrefix ||
		got.NoOutbound != want.NoOutbound || got.VMPort != want.VMPort || got.MinHostPort != want.MinHostPort || got.MaxHostPort != want.MaxHostPort {
		t.Errorf("default set: %+v, %v; want %+v", got, err, want)
	}
	if got, err := cat.networkSpec(vms("c")); err != nil || got.Subnet != netip.MustParsePrefix("10.200.0.0/24") || got.NoOutbound {
		t.Errorf("set apart: %+v, %v; want the built-in settings of network other", got, err)
	}
	if _, err := cat.networkSpec(vms("a", "c")); err == nil || !strings.Contains(err.Error(), "different networks") {
		t.Errorf("two networks in one cluster: %v", err)
	}
	if _, err := cat.networkSpec(vms("d")); err == nil || !strings.Contains(err.Error(), "template d") {
		t.Errorf("unknown resource set: %v", err)
	}
	if p, err := vmnet.NewPlan(func() vmnet.Spec { s, _ := cat.networkSpec(vms("a")); s.VMs = []vmnet.VMSpec{{}}; return s }()); err != nil ||
		!strings.HasPrefix(p.VMs[0].Addr.String(), "10.77.") {
		t.Errorf("plan of the configured network: %+v, %v", p, err)
	}
}
