package vmnet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say where and how a network runs.
type Options struct {
	// Dir is the cluster's private directory (0700, the caller's): the
	// slirp4netns API socket, dnsmasq's leases and the log go there.
	Dir string
	// Holder is the argv that runs HolderMain; default: this program with
	// HolderCommand.
	Holder []string
}

// Network is a started cluster network.
type Network struct {
	Plan   Plan // with the host ports filled in
	dir    string
	holder *exec.Cmd
	slirp  *exec.Cmd
	exitW  *os.File // slirp4netns exits when this closes
	done   chan struct{}
	err    error // why the holder ended, once done is closed
	mu     sync.Mutex
	ended  bool // slirp4netns stopped or never to start
}

// Files that Start makes in Options.Dir.
const (
	SlirpSocket = "slirp.sock"
	LogFile     = "vmnet.log"
)

// Start checks the host, starts the holder in new namespaces, slirp4netns
// as its uplink, and the reverse NAT of every forward. On error nothing is
// left running.
func Start(ctx context.Context, p Plan, o Options) (_ *Network, err error) {
	if err := Preflight(); err != nil {
		return nil, err
	}
	if err := checkPrivate(o.Dir); err != nil {
		return nil, err
	}
	sock := filepath.Join(o.Dir, SlirpSocket)
	if len(sock) >= 108 {
		return nil, fmt.Errorf("VM network: the path of its socket is too long (%d bytes, 107 at most): %s", len(sock), sock)
	}
	n := &Network{Plan: p, dir: o.Dir, done: make(chan struct{})}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := n.startHolder(o); err != nil {
		return nil, err
	}
	if err := n.startSlirp(ctx, sock); err != nil {
		return nil, err
	}
	if err := n.forwardPorts(ctx, sock); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Network) startHolder(o Options) error {
	argv := o.Holder
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("VM network: %w", err)
		}
		argv = []string{exe, HolderCommand}
	}
	log, err := os.OpenFile(filepath.Join(n.dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("VM network: %w", err)
	}
	defer log.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	in, _ := json.Marshal(holderInput{Plan: n.Plan, Dir: n.dir})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(string(in))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET | syscall.CLONE_NEWPID,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		// The holder dies with its parent (kill -9 of pcocc), and with it
		// the pid namespace and every process in it.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		readyW.Close()
		return fmt.Errorf("VM network: starting the namespace holder: %w", err)
	}
	readyW.Close()
	n.holder = cmd
	go n.watchHolder()
	line, _ := bufio.NewReader(readyR).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "ok":
		return nil
	case strings.HasPrefix(line, "error: "):
		return fmt.Errorf("VM network: %s", strings.TrimPrefix(line, "error: "))
	default:
		<-n.done
		return fmt.Errorf("VM network: the namespace holder ended (%v) before the network was up: see %s",
			n.err, filepath.Join(n.dir, LogFile))
	}
}

// watchHolder: when the holder ends (Close, or killed by anyone), the
// uplink goes too.
func (n *Network) watchHolder() {
	err := n.holder.Wait()
	if err == nil {
		err = errors.New("exited")
	}
	n.err = err
	n.stopSlirp()
	close(n.done)
}

func (n *Network) startSlirp(ctx context.Context, sock string) error {
	os.Remove(sock)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return err
	}
	log, err := os.OpenFile(filepath.Join(n.dir, LogFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(lookPath("slirp4netns"), "--configure", "--mtu=65520",
		"--api-socket", sock, "--ready-fd=3", "--exit-fd=4",
		strconv.Itoa(n.holder.Process.Pid), UplinkTap)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	n.mu.Lock()
	if n.ended { // the holder is gone already
		n.mu.Unlock()
		readyW.Close()
		exitR.Close()
		exitW.Close()
		<-n.done
		return fmt.Errorf("VM network: the namespace holder ended (%v): see %s", n.err, filepath.Join(n.dir, LogFile))
	}
	err = cmd.Start()
	if err == nil {
		n.slirp, n.exitW = cmd, exitW
	}
	n.mu.Unlock()
	readyW.Close()
	exitR.Close()
	if err != nil {
		exitW.Close()
		return fmt.Errorf("VM network: starting slirp4netns: %w", err)
	}
	got := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := readyR.Read(b)
		got <- err
	}()
	select {
	case err = <-got:
	case <-ctx.Done():
		err = ctx.Err()
	case <-time.After(30 * time.Second):
		err = errors.New("not ready after 30s")
	}
	if err != nil {
		return fmt.Errorf("VM network: slirp4netns did not configure the uplink (%v): see %s", err, filepath.Join(n.dir, LogFile))
	}
	return os.Chmod(sock, 0o600)
}

func (n *Network) stopSlirp() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ended {
		return
	}
	n.ended = true
	if n.slirp != nil {
		n.exitW.Close()
		n.slirp.Process.Kill()
		n.slirp.Wait()
	}
}

// forwardPorts asks slirp4netns for each forward: host 127.0.0.1:FREE ->
// namespace NSPort (DNATed to the VM by the rules).
func (n *Network) forwardPorts(ctx context.Context, sock string) error {
	for i := range n.Plan.VMs {
		vm := &n.Plan.VMs[i]
		for j := range vm.Forwards {
			f := &vm.Forwards[j]
			port, err := addHostFwd(ctx, sock, f.NSPort, n.Plan.MinHostPort, n.Plan.MaxHostPort)
			if err != nil {
				return fmt.Errorf("VM network: forwarding a host port to %s:%d: %w", vm.Name, f.GuestPort, err)
			}
			f.HostPort = port
		}
	}
	return nil
}

// HolderPID is the namespace's init, as the host sees it.
func (n *Network) HolderPID() int { return n.holder.Process.Pid }

// Done is closed when the network has ended (Close, or its holder died).
func (n *Network) Done() <-chan struct{} { return n.done }

// Err says why the holder ended, once Done is closed.
func (n *Network) Err() error { return n.err }

// HostPort is the host loopback port that reaches a VM's guest port.
func (n *Network) HostPort(vm string, guestPort int) (int, bool) {
	v, ok := n.Plan.VM(vm)
	if !ok {
		return 0, false
	}
	for _, f := range v.Forwards {
		if f.GuestPort == guestPort {
			return f.HostPort, f.HostPort != 0
		}
	}
	return 0, false
}

// Command runs a program inside the network's namespaces (qemu: it opens
// the VM's tap). It is in the pid namespace, so it dies with the holder;
// killing the returned command's process (nsenter) kills it too. Only the
// process that started the network may call it (its child, the holder,
// cannot be a reused pid).
func (n *Network) Command(name string, args ...string) *exec.Cmd {
	argv := []string{"--target", strconv.Itoa(n.HolderPID()), "--user", "--net", "--pid",
		"--preserve-credentials", "--",
		// nsenter forks it and does not pass signals on: it dies with nsenter.
		lookPath("setpriv"), "--pdeathsig", "KILL", "--", name}
	return exec.Command(lookPath("nsenter"), append(argv, args...)...)
}

// Close kills the holder (and so everything in its namespaces) and the
// uplink, and removes the files Start made. It can be called more than once.
// It does not wait for the holder to finish dying: the kernel tears the
// namespaces' devices down in its exit, 1 to 2 s on a busy node, and kills
// every process of its pid namespace there, whether anyone waits or not
// (Done says when it is over).
func (n *Network) Close() error {
	if n.holder != nil {
		n.holder.Process.Signal(syscall.SIGKILL)
	}
	n.stopSlirp()
	for _, f := range []string{SlirpSocket, "dnsmasq.leases", "dnsmasq.pid"} {
		os.Remove(filepath.Join(n.dir, f))
	}
	return nil
}

// Log is what the holder, dnsmasq and slirp4netns said (for error reports).
func (n *Network) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, LogFile))
	return string(b)
}

// checkPrivate: the sockets and leases go in a directory only the user can
// enter (a socket made before its chmod is never reachable by others).
func checkPrivate(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("VM network: %w", err)
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || st.Mode().Perm()&0o077 != 0 || sys == nil || int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("VM network: %s must be a directory of yours that only you can use (mode 0700)", dir)
	}
	return nil
}
