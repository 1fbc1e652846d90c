package vmnet_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vmnet"
)

// tinyGuest is the tiny test guest of scripts/vm-images.sh (kernel and
// busybox initramfs: DHCP, listeners on 7 and 8080, a console shell).
func tinyGuest(t *testing.T) string {
	dir := os.Getenv("PCOCC_VM_IMAGES")
	if dir == "" {
		ci := os.Getenv("PCOCC_CI_DIR")
		if ci == "" {
			ci = "/var/tmp/pcocc-ci"
		}
		dir = filepath.Join(ci, "vm-images")
	}
	g := filepath.Join(dir, "tiny")
	if _, err := os.Stat(filepath.Join(g, "vmlinuz")); err != nil {
		t.Skipf("no tiny guest in %s: scripts/vm-images.sh tiny builds it", dir)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("no qemu-system-x86_64")
	}
	return g
}

// console is a VM's serial console: what it printed, and its input.
type console struct {
	out    *syncBuf
	in     io.WriteCloser
	exited chan struct{} // qemu ended
}

func (c console) wait(t *testing.T, name, marker string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); !strings.Contains(c.out.String(), marker); time.Sleep(100 * time.Millisecond) {
		select {
		case <-c.exited:
			t.Fatalf("%s: qemu ended before %q; console:\n%s", name, marker, c.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after %s; console:\n%s", name, marker, d, c.out.String())
		}
	}
}

// bootTiny starts qemu (TCG) for vm inside the network's namespaces, its
// NIC on the VM's tap.
func bootTiny(t *testing.T, n *vmnet.Network, guest string, vm vmnet.VMNet) console {
	cmd := n.Command("qemu-system-x86_64", "-accel", "tcg,tb-size=64", "-machine", "q35", "-cpu", "max",
		"-m", "256", "-display", "none", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", filepath.Join(guest, "vmlinuz"), "-initrd", filepath.Join(guest, "initrd.gz"),
		// no_timer_check: a starved TCG vCPU fails the kernel's IO-APIC
		// timer check ("IO-APIC + timer doesn't work!", a panic).
		"-append", "console=ttyS0 quiet panic=-1 no_timer_check",
		"-netdev", "tap,id=n0,ifname="+vm.Tap+",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac="+vm.MAC)
	c := console{out: &syncBuf{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	c.in, _ = cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-c.exited })
	return c
}

// TestQemuGuests: two real VMs (the tiny guest under TCG) on the network:
// their leases and names, the host reaching each one's port 8080 through
// the reverse NAT, vm0 pinging vm1 by name and reaching a service on the
// host's loopback; Close stops the qemus.
func TestQemuGuests(t *testing.T) {
	guest := tinyGuest(t)
	n := startTest(t, vmnet.Spec{VMs: []vmnet.VMSpec{{Ports: []int{8080}}, {Ports: []int{8080}}}})
	hostPort := hostService(t, "HOST-SERVICE-ANSWERED")
	cons := make([]console, 2)
	for i, vm := range n.Plan.VMs {
		cons[i] = bootTiny(t, n, guest, vm)
	}
	start := time.Now()
	for i, vm := range n.Plan.VMs {
		cons[i].wait(t, vm.Name, fmt.Sprintf("PCOCC-TINY-GUEST-NET ip=%s/24 hostname=%s", vm.Addr, vm.Name), 3*time.Minute)
		cons[i].wait(t, vm.Name, "PCOCC-TINY-GUEST-READY", time.Minute)
		t.Logf("%s ready at %s", vm.Name, time.Since(start))
		port, _ := n.HostPort(vm.Name, 8080)
		if got := dialRead(t, port, "pcocc-tiny "+vm.Name); !strings.Contains(got, "pcocc-tiny "+vm.Name) {
			t.Errorf("127.0.0.1:%d (%s:8080) answered %q", port, vm.Name, got)
		}
	}
	fmt.Fprintf(cons[0].in, "\nping -c1 -W 10 vm1 >/dev/null && echo PING-VM1-OK; nc %s %d </dev/null\n",
		vmnet.HostAddr, hostPort)
	cons[0].wait(t, "vm0", "PING-VM1-OK", time.Minute)
	cons[0].wait(t, "vm0", "HOST-SERVICE-ANSWERED", time.Minute)
	t.Logf("ping and NAT at %s", time.Since(start))
	ns := pidNS(n.HolderPID())
	slirp := vmnet.SlirpPID(n)
	n.Close()
	waitGone(t, ns, slirp)
}
