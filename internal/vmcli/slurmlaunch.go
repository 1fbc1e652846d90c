package vmcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmsetup"
)

// The hypervisors tell the launcher over the step's standard output, one
// line each (the launcher passes every other line through):
//
//	pcocc-hv ready N         VM N's QEMU runs
//	pcocc-hv ended N "MSG"   VM N's hypervisor ends: why (Go-quoted)
//
// so that the launcher needs no etcd to know when the cluster is up, and a
// hypervisor's failure is one line from the launcher, not one per task.
const hvMarker = "pcocc-hv"

func newLaunchCmd(e *env) *cobra.Command {
	o := &allocOpts{}
	var network, ports string
	var docker time.Duration
	c := &cobra.Command{
		Use:    launchCommand + " --network NET [--ports P,...] [-E SCRIPT] [-c N] [-m MiB] DEF",
		Hidden: true,
		Args:   exactArgs(1, "one cluster definition"),
		RunE: func(c *cobra.Command, args []string) error {
			j := slurmJob{Def: args[0], Network: network, Cores: o.cores, Script: o.script, Docker: docker}
			var err error
			if j.Ports, err = vmsetup.ParsePorts(ports); err != nil {
				return usageErr("%v", err)
			}
			if o.mem != "" {
				m, err := parseMiB(o.mem)
				if err != nil {
					return usageErr("-m %s: %v", o.mem, err)
				}
				j.MemMiB = m
			}
			e.verbose = o.verbose
			return runLaunch(c.Context(), e, o, j)
		},
	}
	f := c.Flags()
	f.StringVar(&network, "network", "", "the cluster network (srun --vm=)")
	f.StringVar(&ports, "ports", "", "the templates' guest ports (srun --vm=NET:PORTS)")
	f.IntVarP(&o.cores, "cores", "c", 1, "cores per VM")
	f.StringVarP(&o.mem, "mem", "m", "", "memory per VM")
	f.StringVarP(&o.script, "script", "E", "", "script instead of a shell")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "")
	f.DurationVar(&docker, dockerSlurmFlag, 0, "a Docker environment: wait so long for its engine")
	return c
}

// runLaunch runs in the allocation: it starts the hypervisors' step, waits
// for every VM, then runs the shell or script; the end of either ends the
// other.
func runLaunch(ctx context.Context, e *env, o *allocOpts, j slurmJob) error {
	id, err := strconv.Atoi(e.getenv("SLURM_JOB_ID"))
	if err != nil {
		return usageErr("%s runs inside a Slurm allocation (no SLURM_JOB_ID)", launchCommand)
	}
	if j.NVMs, err = strconv.Atoi(e.getenv("SLURM_NTASKS")); err != nil || j.NVMs < 1 {
		return usageErr("%s: no SLURM_NTASKS in the allocation", launchCommand)
	}
	if j.Self, err = os.Executable(); err != nil {
		return err
	}
	if err := checkNetworkName(j.Network); err != nil {
		return usageErr("%v", err)
	}
	var dk *launchDocker
	if j.Docker > 0 {
		if dk, err = startLaunchDocker(e, j, id); err != nil {
			return err
		}
		defer dk.release()
	}
	st, err := startStep(e, j)
	if err != nil {
		return err
	}
	defer st.stop()
	bootCtx, stopBoot := signal.NotifyContext(ctx, os.Interrupt)
	err = st.waitReady(bootCtx, j.NVMs)
	stopBoot()
	if err != nil {
		return err
	}
	e.tracef("VMs started")
	fmt.Fprintln(e.stderr, "Configuring hosts... (done)")
	gone := st.watch()
	end := func() {}
	if dk != nil {
		env, stop, err := dk.ready(ctx, id, gone)
		if err != nil {
			select {
			case <-gone: // the first hypervisor's reason says more
				return st.failure("")
			default:
				return err
			}
		}
		o.env, end = append(o.env, env...), stop
	}
	return st.runShell(ctx, e, o, id, gone, end)
}

// step is the running hypervisors' srun.
type step struct {
	cmd    *exec.Cmd
	events chan hvEvent // from the step's output; closed when it ends
	done   chan error   // srun's Wait
	ended  string       // the first hypervisor's reason to end
}

type hvEvent struct {
	ready bool
	vm    int
	msg   string
}

func startStep(e *env, j slurmJob) (*step, error) {
	argv := stepArgv(j)
	cmd := exec.Command(argv[0], argv[1:]...)
	// srun in a process group of its own: Ctrl-C at the shell is the
	// shell's, not the cluster's.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = e.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("srun: %w", err)
	}
	s := &step{cmd: cmd, events: make(chan hvEvent, 2*j.NVMs+16), done: make(chan error, 1)}
	go func() {
		readMarkers(out, e.stdout, s.events)
		s.done <- cmd.Wait()
	}()
	return s, nil
}

// readMarkers passes the step's output through, but for the hypervisors'
// lines, which it turns into events.
func readMarkers(r io.Reader, w io.Writer, events chan<- hvEvent) {
	defer close(events)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if ev, ok := parseMarker(sc.Text()); ok {
			events <- ev
			continue
		}
		fmt.Fprintln(w, sc.Text())
	}
	io.Copy(io.Discard, r)
}

func parseMarker(l string) (hvEvent, bool) {
	f := strings.SplitN(l, " ", 4)
	if len(f) < 3 || f[0] != hvMarker {
		return hvEvent{}, false
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		return hvEvent{}, false
	}
	switch {
	case f[1] == "ready" && len(f) == 3:
		return hvEvent{ready: true, vm: n}, true
	case f[1] == "ended" && len(f) == 4:
		msg, err := strconv.Unquote(f[3])
		if err != nil {
			msg = f[3]
		}
		return hvEvent{vm: n, msg: msg}, true
	}
	return hvEvent{}, false
}

// waitReady waits for every VM's ready line; the step's end, an ended
// line or ctx stop it.
func (s *step) waitReady(ctx context.Context, n int) error {
	ready := map[int]bool{}
	for len(ready) < n {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return s.failure("the cluster ended while it started")
			}
			if !ev.ready {
				s.note(ev)
				return s.failure("")
			}
			ready[ev.vm] = true
		case <-ctx.Done():
			return exitcode.Wrap(exitcode.Signaled+int(syscall.SIGINT), errors.New("interrupted while the VMs started"))
		}
	}
	return nil
}

func (s *step) note(ev hvEvent) {
	if s.ended == "" {
		s.ended = fmt.Sprintf("vm%d: %s", ev.vm, ev.msg)
	}
}

// failure is the first hypervisor's reason, else what, with srun's status.
func (s *step) failure(what string) error {
	s.stop()
	for ev := range s.events {
		if !ev.ready {
			s.note(ev)
		}
	}
	code := exitcode.Failure
	if s.ended != "" {
		what = s.ended
	}
	if what == "" {
		what = "the cluster ended"
	}
	return exitcode.Wrap(code, errors.New(what))
}

// stop ends the step: SIGINT, which srun -X passes to the hypervisors
// (they stop QEMU and remove their files), then SIGTERM after 10 s (srun
// kills the tasks), SIGKILL of srun's group after 20 s; it waits for srun.
// It can be called more than once.
func (s *step) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	p := s.cmd.Process
	p.Signal(syscall.SIGINT)
	for _, kill := range []func(){func() { p.Signal(syscall.SIGTERM) }, func() { syscall.Kill(-p.Pid, syscall.SIGKILL) }} {
		select {
		case err := <-s.done:
			s.done <- err
			return
		case <-time.After(10 * time.Second):
			kill()
		}
	}
	err := <-s.done
	s.done <- err
}

// watch reads the step's events once the VMs run: the channel is closed
// when a hypervisor ends or the step does (its reason noted).
func (s *step) watch() <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		for ev := range s.events {
			if !ev.ready {
				s.note(ev)
				break
			}
		}
		close(gone)
	}()
	return gone
}

// runShell runs the shell or script until it ends (its status) or the step
// ends (gone: the first hypervisor's reason); end runs then, before the
// step is stopped.
func (s *step) runShell(ctx context.Context, e *env, o *allocOpts, id int, gone <-chan struct{}, end func()) error {
	dir, err := os.MkdirTemp("", "pcocc-shell-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	job := &vmjob.Job{State: vmjob.State{ID: id}, Dir: dir}
	sh, err := startShell(e, o, job)
	if err != nil {
		return err
	}
	ended := make(chan func() error, 1)
	go func() {
		<-gone
		ended <- func() error { return s.failure("") }
	}()
	err = sh.wait(ctx, e, ended)
	end()
	s.stop()
	return err
}
