package vmnet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vmnet"
	"github.com/pcocc/pcocc/internal/vmnet/vmnettest"
	"golang.org/x/sys/unix"
)

// helperEnv selects what the test binary does when it is re-executed (a
// network starter, a client); vmnettest.Run does the holder and fake VMs.
const helperEnv = "VMNET_TEST_HELPER"

func TestMain(m *testing.M) {
	vmnettest.Run()
	switch os.Getenv(helperEnv) {
	case "startnet":
		os.Exit(startNet(os.Args[1]))
	case "connect":
		os.Exit(connect(os.Args[1]))
	}
	os.Exit(m.Run())
}

// startNet is a pcocc stand-in: it starts a network with one VM in dir,
// prints the holder's and slirp's pids and the host port of vm0:22, and
// closes it when its stdin ends.
func startNet(dir string) int {
	p, err := vmnet.NewPlan(vmnet.Spec{VMs: []vmnet.VMSpec{{}}})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	n, err := vmnet.Start(context.Background(), p, vmnet.Options{Dir: dir, Holder: vmnettest.Holder()})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println(n.HolderPID(), vmnet.SlirpPID(n), n.Plan.VMs[0].Forwards[0].HostPort)
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
