package vmrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// Network is the cluster network as the runtime needs it.
type Network interface {
	// NetArgs are the -netdev options (id net0) of VM i; nil: no NIC.
	NetArgs(i int) []string
	// MAC is VM i's address on the network (its DHCP lease's); "": the plan's.
	MAC(i int) string
	// Command runs a program where the VMs' taps are.
	Command(name string, args ...string) *exec.Cmd
	// HostPort is the host loopback port that reaches a guest port.
	HostPort(vm string, guestPort int) (int, bool)
	Close() error
}

// Cluster is a started cluster.
type Cluster struct {
	Job     *vmjob.Job
	VMs     []vm.VM
	net     Network
	procs   []proc
	ended   chan Exit // one per QEMU that ended
	daemons []proc    // serve the VMs (virtiofsd)
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when Wait returned
}

// Exit is a QEMU that ended.
type Exit struct {
	VM  vm.VM
	Err error // from Wait
}

// Start starts every VM (their overlays made by MakeOverlays) and the
// daemons they need. On error nothing it started is left running (the job
// directory is the caller's).
func Start(ctx context.Context, job *vmjob.Job, vms []vm.VM, accel vm.Accel, net Network) (_ *Cluster, err error) {
	c := &Cluster{Job: job, VMs: vms, net: net, ended: make(chan Exit, len(vms))}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := c.startShares(); err != nil {
		return nil, err
	}
	for _, v := range vms {
		if err := c.startVM(v, accel); err != nil {
			return nil, err
		}
	}
	if err := job.Save(); err != nil {
		return nil, err
	}
	return c, c.waitSockets(ctx)
}

// MakeOverlays makes the VMs' overlays (MakeOverlay), all at once.
func MakeOverlays(ctx context.Context, vms []vm.VM) error {
	errs := make(chan error, len(vms))
	for _, v := range vms {
		go func() { errs <- MakeOverlay(ctx, v) }()
	}
	var first error
	for range vms {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// MakeOverlay creates v's disk: a qcow2 overlay backed by the template's
// image, made in constant time whatever the image's size.
func MakeOverlay(ctx context.Context, v vm.VM) error {
	if v.Template.Image == "" {
		return nil
	}
	out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2",
		"-b", v.Template.Image, "-F", "qcow2", v.Files.Overlay).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: disk overlay of %s: %s", v.Name, v.Template.Image, FirstLine(out, err))
	}
	return nil
}

func (c *Cluster) startVM(v vm.VM, accel vm.Accel) error {
	if mac := c.net.MAC(v.Index); mac != "" {
		v.MAC = mac
	}
	argv := vm.Argv(v, accel, c.net.NetArgs(v.Index))
	log, err := os.OpenFile(v.Files.QemuLog, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := c.net.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	// Own process group: a Ctrl-C in the shell is not a Ctrl-C to QEMU.
	// Pdeathsig: QEMU dies with the process that runs the cluster.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: cannot start %s: %w", v.Name, argv[0], err)
	}
	p := proc{cmd: cmd, done: make(chan struct{})}
	c.procs = append(c.procs, p)
	st := vmjob.VM{Name: v.Name, Template: v.Template.Name, Image: v.Template.Image, ImageRef: v.Template.ImageRef, Pid: cmd.Process.Pid, Ports: map[int]int{}}
	for _, guest := range append([]int{22}, v.Template.Ports...) {
		if p, ok := c.net.HostPort(v.Name, guest); ok {
			st.Ports[guest] = p
		}
	}
	st.SSHPort = st.Ports[22]
	c.Job.VMs = append(c.Job.VMs, st)
	go func() {
		err := cmd.Wait()
		close(p.done)
		c.ended <- Exit{VM: v, Err: err}
	}()
	return nil
}

// waitSockets waits until every QEMU serves QMP: then its devices, disk
// and console exist. A QEMU that ends before is reported.
func (c *Cluster) waitSockets(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for _, v := range c.VMs {
		for {
			if _, err := os.Stat(v.Files.QMP); err == nil {
				break
			}
			select {
			case e := <-c.ended:
				return c.Crash(e)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: QEMU did not start in 30 s%s", v.Name, tail(v.Files.QemuLog, 5))
			}
		}
	}
	return nil
}

// Ended delivers each QEMU that ends.
func (c *Cluster) Ended() <-chan Exit { return c.ended }

// Crash is the report of a QEMU that ended by itself: its status, what it
// said and the last lines of the VM's console.
func (c *Cluster) Crash(e Exit) error {
	msg := fmt.Sprintf("%s: QEMU ended (%v)", e.VM.Name, exitText(e.Err))
	msg += tail(e.VM.Files.QemuLog, 5)
	if con := tail(e.VM.Files.ConsoleLog, 10); con != "" {
		msg += "\nlast lines of its console:" + con
	}
	return errors.New(msg)
}

// Stop kills every QEMU and the network. VMs are ephemeral: there is
// nothing to flush. It can be called more than once.
func (c *Cluster) Stop() {
	for _, p := range c.procs {
		p.cmd.Process.Kill()
	}
	for _, p := range c.procs {
		<-p.done
	}
	c.procs = nil
	for _, p := range c.daemons {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, p := range c.daemons {
		<-p.done
	}
	c.daemons = nil
	if c.net != nil {
		c.net.Close()
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// tail returns the last n non-empty lines of file, each on a line of its
// own indented, or "".
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString("\n  " + printable(l))
	}
	return sb.String()
}

// lastLine is the last non-empty line of file, or "".
func lastLine(file string) string { return strings.TrimSpace(tail(file, 1)) }

// ansiEscape is a terminal control sequence (CSI).
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// printable drops terminal escapes and control characters (a console's).
func printable(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// FirstLine is the first line of a command's output, else its error: the
// one line a failed tool's message gets.
func FirstLine(out []byte, err error) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return err.Error()
	}
	line, _, _ := strings.Cut(s, "\n")
	return line
}
