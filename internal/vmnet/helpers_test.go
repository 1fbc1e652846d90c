package vmnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// helperEnv selects what the test binary does when it is re-executed: the
// namespace holder (as pcocc-vm is), a stand-in VM, a network starter.
const helperEnv = "VMNET_TEST_HELPER"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HolderCommand {
		os.Exit(HolderMain())
	}
	switch os.Getenv(helperEnv) {
	case "fakevm":
		os.Exit(fakeVM(os.Args[1], os.Args[2], os.Args[3]))
	case "startnet":
		os.Exit(startNet(os.Args[1]))
	case "connect":
		os.Exit(connect(os.Args[1]))
	}
	os.Exit(m.Run())
}

// fakeVM stands for a VM: it attaches to the tap, makes a network namespace
// of its own with a tap eth0 (MAC mac) and copies frames between the two
// taps, as qemu does between its tap and the guest's NIC; then it runs the
// shell script in that namespace (the "guest").
func fakeVM(tap, mac, script string) int {
	runtime.LockOSThread() // the namespace below is this thread's
	outer, err := openTap(tap)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakevm:", err)
		return 1
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		fmt.Fprintln(os.Stderr, "fakevm: unshare:", err)
		return 1
	}
	inner, err := openTap("eth0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakevm:", err)
		return 1
	}
	go copyFrames(inner, outer)
	go copyFrames(outer, inner)
	// Forked from this locked thread: the script runs in the new namespace.
	cmd := exec.Command("sh", "-ec", script)
	cmd.Env = append(os.Environ(), "MAC="+mac)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakevm: guest script:", err)
		return 1
	}
	return 0
}

func openTap(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var req [unix.IFNAMSIZ + 64]byte
	copy(req[:], name)
	*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TAP | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), name), nil
}

func copyFrames(dst, src *os.File) {
	buf := make([]byte, 65536)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		dst.Write(buf[:n])
	}
}

// guestDHCP is the start of a fake VM's script: its NIC up with the
// planned MAC, an address from dnsmasq (udhcpc), printed as "lease IP".
const guestDHCP = `
ip link set lo up
ip link set eth0 address "$MAC"
ip link set eth0 up
cat > "$TMPDIR/dhcp-$MAC.sh" <<'S'
#!/bin/sh
case $1 in bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -z "$router" ] || ip route add default via "$router"
	echo "lease $ip dns $dns";;
esac
S
chmod +x "$TMPDIR/dhcp-$MAC.sh"
busybox udhcpc -i eth0 -f -q -n -t 20 -T 1 -s "$TMPDIR/dhcp-$MAC.sh" >/dev/null 2>&1 || { echo "no DHCP lease"; exit 1; }
ip -4 -o addr show dev eth0 | awk '{print "lease", $4}'
`

// startNet is a pcocc stand-in: it starts a network with one VM in dir,
// prints the holder's and slirp's pids and the host port of vm0:22, and
// closes it when its stdin ends.
func startNet(dir string) int {
	p, err := NewPlan(Spec{VMs: []VMSpec{{}}})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	n, err := Start(context.Background(), p, Options{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println(n.HolderPID(), n.slirp.Process.Pid, n.Plan.VMs[0].Forwards[0].HostPort)
	io.Copy(io.Discard, os.Stdin)
	n.Close()
	return 0
}

// connect tries to talk to a unix socket (as another user).
func connect(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Println(err)
		return 3
	}
	c.Close()
	fmt.Println("connected")
	return 0
}

// pidNS is the pid namespace of a process ("" when it is gone).
func pidNS(pid int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	return s
}

// inNS lists the processes in pid namespace ns.
func inNS(ns string) []string {
	var pids []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if s, _ := os.Readlink(filepath.Join("/proc", e.Name(), "ns/pid")); s == ns {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			pids = append(pids, e.Name()+":"+strings.TrimSpace(string(comm)))
		}
	}
	return pids
}

// waitGone waits until nothing is left in pid namespace ns and pid slirp is gone.
func waitGone(t *testing.T, ns string, slirp int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := inNS(ns)
		if unix.Kill(slirp, 0) == nil && !zombie(slirp) {
			left = append(left, fmt.Sprintf("%d:slirp4netns", slirp))
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left running: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// newDir is a private directory for a network (short: the socket path).
func newDir(t *testing.T) string {
	d, err := os.MkdirTemp("/tmp", "vmnet-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o700)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func readAll(r io.Reader) string { b, _ := io.ReadAll(r); return string(b) }
