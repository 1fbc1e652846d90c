package vmnet_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/testutil"
	"github.com/pcocc/pcocc/internal/vmnet"
	"github.com/pcocc/pcocc/internal/vmnet/vmnettest"
)

// syncBuf is a buffer that two goroutines use (a command's output, the test).
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startTest(t *testing.T, spec vmnet.Spec) *vmnet.Network {
	t.Helper()
	if err := vmnet.Preflight(); err != nil {
		t.Fatal(err)
	}
	p, err := vmnet.NewPlan(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := newDir(t)
	n, err := vmnet.Start(ctx, p, vmnet.Options{Dir: dir, Holder: vmnettest.Holder()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		if t.Failed() {
			t.Logf("network log:\n%s", n.Log())
		}
	})
	return n
}

// fakeVMCmd runs a stand-in VM on the network's tap for vm.
func fakeVMCmd(n *vmnet.Network, vm vmnet.VMNet, script string, out *syncBuf) *exec.Cmd {
	cmd := vmnettest.Command(n, vm, script)
	cmd.Stdout, cmd.Stderr = out, out
	return cmd
}

// hostService listens on the host's loopback and answers every connection
// with msg; it returns the port. The listener closes when the test ends.
func hostService(t *testing.T, msg string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, msg)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNetwork: two VMs get their static leases, find each other by name
// and ping each other through the bridge; a VM reaches a service on the
// host's loopback through NAT; the host reaches a VM's listener through the
// reverse NAT; Close leaves no process.
func TestNetwork(t *testing.T) {
	n := startTest(t, vmnet.Spec{VMs: []vmnet.VMSpec{{}, {Ports: []int{8080}}}})
	hostPort := hostService(t, "hello from the host")
	vm0, vm1 := n.Plan.VMs[0], n.Plan.VMs[1]
	var out0, out1 syncBuf
	cmd1 := fakeVMCmd(n, vm1, vmnettest.GuestDHCP+`busybox nc -ll -p 8080 -e echo listener in vm1 & sleep 120`, &out1)
	if err := cmd1.Start(); err != nil {
		t.Fatal(err)
	}
	done1 := make(chan error, 1)
	go func() { done1 <- cmd1.Wait() }()
	cmd0 := fakeVMCmd(n, vm0, vmnettest.GuestDHCP+fmt.Sprintf(`
busybox nslookup vm1 %[1]s | grep -q %[2]s || { echo "vm1 does not resolve"; busybox nslookup vm1 %[1]s; exit 1; }
busybox nslookup vm1.pcocc %[1]s | grep -q %[2]s || { echo "vm1.pcocc does not resolve"; exit 1; }
i=0; until busybox ping -c1 -W1 %[2]s >/dev/null; do i=$((i+1)); [ $i -lt 60 ] || { echo "no ping"; exit 1; }; done
echo pinged vm1
busybox nc -w 5 %[3]s %[4]d </dev/null
`, n.Plan.BridgeAddr, vm1.Addr, vmnet.HostAddr, hostPort), &out0)
	if err := cmd0.Run(); err != nil {
		t.Fatalf("vm0: %v\n%s\nvm1:\n%s", err, out0.String(), out1.String())
	}
	t.Logf("vm0:\n%s", out0.String())
	for _, w := range []string{"lease " + vm0.Addr.String() + "/24", "pinged vm1", "hello from the host"} {
		if !strings.Contains(out0.String(), w) {
			t.Errorf("vm0 did not say %q:\n%s", w, out0.String())
		}
	}
	port, ok := n.HostPort("vm1", 8080)
	if !ok {
		t.Fatal("no host port for vm1:8080")
	}
	if got := dialRead(t, port, "listener in vm1"); !strings.Contains(got, "listener in vm1") {
		t.Errorf("127.0.0.1:%d (vm1:8080) answered %q", port, got)
	}
	if !strings.Contains(out1.String(), "lease "+vm1.Addr.String()+"/24") {
		t.Errorf("vm1's lease:\n%s", out1.String())
	}
	ns, slirp := pidNS(n.HolderPID()), vmnet.SlirpPID(n)
	n.Close()
	select {
	case <-done1:
	case <-time.After(10 * time.Second):
		t.Error("vm1 still runs after Close")
	}
	waitGone(t, ns, slirp)
	if _, err := os.Stat(filepath.Join(vmnet.NetDir(n), vmnet.SlirpSocket)); err == nil {
		t.Error("Close left the slirp4netns socket")
	}
}

// dialRead reads what 127.0.0.1:port says, retrying until it says want
// (the VM may still be getting its lease) for 60s at most.
func dialRead(t *testing.T, port int, want string) string {
	var got string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			got = err.Error()
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got = readAll(c)
		c.Close()
		if strings.Contains(got, want) {
			break
		}
	}
	return got
}

// TestHolderKilled: SIGKILL of the holder by anyone ends the network
// (Done), its processes and the uplink.
func TestHolderKilled(t *testing.T) {
	n := startTest(t, vmnet.Spec{VMs: []vmnet.VMSpec{{}}})
	ns, slirp := pidNS(n.HolderPID()), vmnet.SlirpPID(n)
	if len(inNS(ns)) < 2 {
		t.Fatalf("the namespace should hold the holder and dnsmasq: %v", inNS(ns))
	}
	syscall.Kill(n.HolderPID(), syscall.SIGKILL)
	select {
	case <-n.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10s after the holder was killed")
	}
	waitGone(t, ns, slirp)
}

// TestParentKilled: kill -9 of the program that started the network (pcocc)
// leaves nothing running.
func TestParentKilled(t *testing.T) {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, newDir(t))
	cmd.Env = append(os.Environ(), helperEnv+"=startnet")
	stdin, _ := cmd.StdinPipe() // open until the kill: it does not Close
	defer stdin.Close()
	holder, slirp, port := startStarter(t, cmd)
	ns := pidNS(holder)
	cmd.Process.Kill()
	cmd.Wait()
	waitGone(t, ns, slirp)
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Close()
		t.Errorf("port %d still forwarded", port)
	}
}

func TestPreflightTun(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root opens any file: run as a user")
	}
	tunDevice := filepath.Join(t.TempDir(), "tun")
	defer vmnet.SetTunDevice(tunDevice)()
	if err := vmnet.Preflight(); err == nil || !strings.Contains(err.Error(), "is missing: an administrator must load the tun module") {
		t.Errorf("no device: %v", err)
	}
	os.WriteFile(tunDevice, nil, 0)
	err := vmnet.Preflight()
	want := "VM network: no permission to open " + tunDevice + ": an administrator must make it usable by users (chmod 0666 " + tunDevice + ")"
	if err == nil || err.Error() != want {
		t.Errorf("no permission: %v, want %s", err, want)
	}
}

func TestPreflightTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := vmnet.Preflight()
	if _, serr := os.Stat("/usr/sbin/nft"); serr != nil {
		t.Skip("nft is not in /usr/sbin")
	}
	// ip is found in /usr/sbin; the first missing one is slirp4netns (/usr/bin).
	want := `VM network: slirp4netns not found on PATH: install the Debian package "slirp4netns"`
	if err == nil || err.Error() != want {
		t.Errorf("Preflight with an empty PATH: %v, want %s", err, want)
	}
}

func TestStartNotPrivate(t *testing.T) {
	d := newDir(t)
	os.Chmod(d, 0o755)
	p, _ := vmnet.NewPlan(vmnet.Spec{})
	_, err := vmnet.Start(context.Background(), p, vmnet.Options{Dir: d})
	if err == nil || !strings.Contains(err.Error(), "only you can use (mode 0700)") {
		t.Errorf("Start in a 0755 directory: %v", err)
	}
}

// startStarter starts a startNet helper and reads what it prints.
func startStarter(t *testing.T, cmd *exec.Cmd) (holder, slirp, port int) {
	t.Helper()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if _, err := fmt.Sscan(line, &holder, &slirp, &port); err != nil {
		t.Fatalf("the starter said %q", line)
	}
	return holder, slirp, port
}

// TestOtherUser: another user cannot reach the network's control socket
// (slirp4netns's API, which adds port forwards). Root runs the owner
// (tester) and the other user (tester2).
func TestOtherUser(t *testing.T) {
	tester := testutil.UserID(t, testutil.Tester)
	testutil.UserID(t, testutil.Tester2)
	shared, bin := testutil.SharedTestBinary(t, "vmnet.test")
	dir := filepath.Join(shared, "net")
	os.Mkdir(dir, 0o700)
	os.Chown(dir, tester, tester)
	as := func(name, helper string, args ...string) *exec.Cmd {
		c := exec.Command("runuser", append([]string{"-u", name, "--", "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			helperEnv + "=" + helper, bin}, args...)...)
		return c
	}
	owner := as("tester", "startnet", dir)
	stdin, _ := owner.StdinPipe()
	holder, slirp, _ := startStarter(t, owner)
	ns := pidNS(holder)
	sock := filepath.Join(dir, vmnet.SlirpSocket)
	if out, err := as("tester", "connect", sock).CombinedOutput(); err != nil {
		t.Fatalf("the owner cannot connect: %v %s", err, out)
	}
	out, err := as("tester2", "connect", sock).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Errorf("tester2 connecting to %s: %v %s", sock, err, out)
	}
	stdin.Close()
	owner.Wait()
	waitGone(t, ns, slirp)
}

// TestHostPortRange: the host ports are taken in the configured range,
// skipping a port already in use.
func TestHostPortRange(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	min := busy.Addr().(*net.TCPAddr).Port
	if min > 65000 {
		t.Skip("the free port found is too high to make a range above it")
	}
	n := startTest(t, vmnet.Spec{MinHostPort: min, MaxHostPort: min + 200, VMs: []vmnet.VMSpec{{Ports: []int{80}}}})
	for _, f := range n.Plan.VMs[0].Forwards {
		if f.HostPort <= min || f.HostPort > min+200 {
			t.Errorf("vm0:%d on host port %d, not in %d-%d (%d is busy)", f.GuestPort, f.HostPort, min, min+200, min)
		}
	}
}

// TestNoOutbound: a VM of a network without outbound access cannot reach
// the host's loopback, but the host still reaches it (reverse NAT).
func TestNoOutbound(t *testing.T) {
	n := startTest(t, vmnet.Spec{NoOutbound: true, VMs: []vmnet.VMSpec{{Ports: []int{8080}}}})
	hostPort := hostService(t, "hello from the host")
	var out syncBuf
	cmd := fakeVMCmd(n, n.Plan.VMs[0], vmnettest.GuestDHCP+fmt.Sprintf(`
if busybox nc -w 3 %s %d </dev/null; then echo REACHED; else echo BLOCKED; fi
busybox nc -ll -p 8080 -e echo listener in vm0 & sleep 60
`, vmnet.HostAddr, hostPort), &out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Its listener holds its output open: Close (all of it) before Wait.
	defer func() { n.Close(); cmd.Wait() }()
	port, _ := n.HostPort("vm0", 8080)
	if got := dialRead(t, port, "listener in vm0"); !strings.Contains(got, "listener in vm0") {
		t.Errorf("reverse NAT: %q", got)
	}
	if s := out.String(); !strings.Contains(s, "BLOCKED") || strings.Contains(s, "hello from the host") {
		t.Errorf("vm0 reached the host:\n%s", s)
	}
}

// TestCommandKilled: killing what Command returned kills the program
// inside the namespaces, not only nsenter.
func TestCommandKilled(t *testing.T) {
	n := startTest(t, vmnet.Spec{VMs: []vmnet.VMSpec{{}}})
	cmd := n.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ns := pidNS(n.HolderPID())
	has := func() bool { return strings.Contains(strings.Join(inNS(ns), " "), ":sleep") }
	for deadline := time.Now().Add(10 * time.Second); !has(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no sleep in the namespace: %v", inNS(ns))
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); has(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sleep still runs after its nsenter was killed: %v", inNS(ns))
		}
	}
}
