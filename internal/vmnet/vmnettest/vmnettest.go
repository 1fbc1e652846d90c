// Package vmnettest runs stand-in VMs on a vmnet network for the tests of
// the packages that use it: a process attached to the VM's tap, copying
// frames to a tap eth0 in a network namespace of its own (as qemu copies
// them to the guest's NIC), where a shell script plays the guest.
package vmnettest

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"github.com/pcocc/pcocc/internal/vmnet"
	"golang.org/x/sys/unix"
)

const fakeVMEnv = "VMNETTEST_FAKEVM"

// Run is for TestMain, before m.Run: when the test binary was started as
// the namespace holder or as a stand-in VM, it does that and exits.
func Run() {
	if len(os.Args) > 1 && os.Args[1] == vmnet.HolderCommand {
		os.Exit(vmnet.HolderMain())
	}
	if os.Getenv(fakeVMEnv) == "1" && len(os.Args) == 4 {
		os.Exit(fakeVM(os.Args[1], os.Args[2], os.Args[3]))
	}
}

// Holder is the Options.Holder of a network started by a test binary
// whose TestMain calls Run.
func Holder() []string {
	exe, _ := os.Executable()
	return []string{exe, vmnet.HolderCommand}
}

// Command is a stand-in for VM vm of network n whose guest runs script
// (sh -e; $MAC is the VM's MAC). It ends with the script, or with the
// network.
func Command(n *vmnet.Network, vm vmnet.VMNet, script string) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := n.Command(exe, vm.Tap, vm.MAC, script)
	cmd.Env = append(os.Environ(), fakeVMEnv+"=1")
	return cmd
}

// GuestDHCP starts a guest script: the NIC up with the planned MAC, an
// address from dnsmasq (busybox udhcpc), printed as "lease ADDR/BITS".
const GuestDHCP = `
ip link set lo up
ip link set eth0 address "$MAC"
ip link set eth0 up
dhcp=$(mktemp)
trap 'rm -f "$dhcp"' EXIT
cat > "$dhcp" <<'S'
#!/bin/sh
case $1 in bound|renew)
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -z "$router" ] || ip route add default via "$router";;
esac
S
chmod +x "$dhcp"
busybox udhcpc -i eth0 -f -q -n -t 20 -T 1 -s "$dhcp" >/dev/null 2>&1 || { echo "no DHCP lease"; exit 1; }
ip -4 -o addr show dev eth0 | awk '{print "lease", $4}'
`

func fakeVM(tap, mac, script string) int {
	runtime.LockOSThread() // the namespace made below is this thread's
	outer, err := openTap(tap)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake VM:", err)
		return 1
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		fmt.Fprintln(os.Stderr, "fake VM: unshare:", err)
		return 1
	}
	inner, err := openTap("eth0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake VM:", err)
		return 1
	}
	go copyFrames(inner, outer)
	go copyFrames(outer, inner)
	// Forked from this locked thread: the script runs in the new namespace.
	cmd := exec.Command("sh", "-ec", script)
	cmd.Env = append(os.Environ(), "MAC="+mac)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "fake VM: guest script:", err)
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
