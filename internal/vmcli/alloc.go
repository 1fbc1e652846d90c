package vmcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmrun"
)

type allocOpts struct {
	cores     int
	mem       string
	script    string
	name      string
	partition string
	account   string
	verbose   bool
	dryRun    bool   // Slurm: print the salloc or sbatch and srun command lines
	output    string // batch
	idFD      int    // batch: where the detached alloc writes its job id
	// hooks: what `pcocc docker alloc` adds (nil for alloc).
	hooks allocHooks
	// env is more environment for the shell or script.
	env []string
	// slurmArgs are the options pcocc does not know, for salloc or sbatch.
	slurmArgs []string
	// docker: the hypervisor of a Docker environment under Slurm.
	docker bool
}

// allocHooks let a kind of allocation (the Docker environment) act at its
// steps; each runs in the process that runs the job.
type allocHooks interface {
	// Started runs once the job exists, before the VMs are planned;
	// release runs when the job ends.
	Started(cat *catalog, job *vmjob.Job) (release func(), err error)
	// Template adjusts a template of the plan.
	Template(t vm.Template) vm.Template
	// Ready runs once the VMs run, before the shell: it returns the
	// shell's environment, and stop, run when the job ends.
	Ready(ctx context.Context, job *vmjob.Job) (env []string, stop func(), err error)
	// Detached is the command line of a detached alloc (batch).
	Detached(o *allocOpts) []string
}

func newAllocCmd(e *env, batch bool) *cobra.Command {
	o := &allocOpts{}
	c := &cobra.Command{
		Use:   "alloc [options] [salloc options] TEMPLATE[:COUNT][,TEMPLATE[:COUNT]...]",
		Short: "Start a cluster of VMs and open a shell on it",
		Long: `Start a cluster of VMs, one per COUNT of each template (vm0, vm1, ... in
the order given), and open a shell whose prompt is (pcocc/JOBID), or run
-E SCRIPT. Leaving the shell, the end of the script, or a VM that stops
by itself ends the cluster: every VM, its network and its disk overlays
are removed. The exit status is the shell's or the script's.

Under Slurm (batch.yaml type: slurm) the options below are pcocc's and
any other goes to salloc as written, after pcocc's own (-t 30, -N 2,
--ntasks-per-node=1, --qos=Q...); pcocc owns -n/--ntasks (one task per
VM), --cpus-per-task (use -c), --wrap and --export. The local batch
manager takes no other option.`,
		// Slurm's options are passed on (slurmargs.go): the flags are
		// parsed in RunE, once split from them.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			def, help, err := parseAllocArgs(c, o, args)
			if err != nil || help {
				return err
			}
			if done, err := trySlurm(e, o, def, batch); done {
				return err
			}
			if len(o.slurmArgs) > 0 {
				return usageErr("unknown flag: %s (Slurm's options need batch.yaml type: slurm; see '%s --help')", o.slurmArgs[0], c.CommandPath())
			}
			if batch {
				return runBatch(c.Context(), e, o, def)
			}
			return runAlloc(c.Context(), e, o, def)
		},
	}
	f := c.Flags()
	f.IntVarP(&o.cores, "cores", "c", 0, "cores per VM (default: the template's, else 1)")
	f.StringVarP(&o.mem, "mem", "m", "", "memory per VM, in MiB or with a unit (512M, 2G; default: the template's, else 1G)")
	f.StringVarP(&o.script, "script", "E", "", "run this shell script on the host instead of an interactive shell")
	f.StringVarP(&o.name, "jobname", "J", "", "name the cluster, for -J of the other commands")
	f.StringVarP(&o.partition, "partition", "p", "", "partition (Slurm; the local batch manager ignores it)")
	f.StringVarP(&o.account, "account", "A", "", "account (Slurm; the local batch manager ignores it)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "say when each step of the start and the end is done (seconds since the start)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the salloc (sbatch) and srun command lines and submit nothing (batch.yaml type: slurm)")
	f.IntVar(&o.idFD, "id-fd", 0, "")
	f.MarkHidden("id-fd")
	if batch {
		c.Use = "batch [options] [sbatch options] -E SCRIPT TEMPLATE[:COUNT][,...]"
		c.Short = "Start a cluster of VMs in the background, running a script"
		c.Long = `Start a cluster of VMs as alloc does, detached from the terminal, and run
-E SCRIPT on the host; its output and the cluster's messages go to the
output file (-o, default pcocc-JOBID.out in the current directory). The
cluster ends with the script. Prints the job id.

Under Slurm (batch.yaml type: slurm) the options below are pcocc's and
any other goes to sbatch as written, after pcocc's own; pcocc owns
-n/--ntasks, --cpus-per-task (use -c), --wrap and --export.`
		f.StringVarP(&o.output, "output", "o", "", "output file (default: pcocc-JOBID.out); %j is the job id")
	}
	return c
}

// parseAllocArgs splits args into pcocc's flags, which it parses into o,
// Slurm's options (o.slurmArgs) and the definition. help: -h was given,
// and the help printed.
func parseAllocArgs(c *cobra.Command, o *allocOpts, args []string) (def string, help bool, err error) {
	pos, help, err := parseSlurmCmdArgs(c, o, args, true)
	if err != nil || help {
		return "", help, err
	}
	if len(pos) != 1 {
		return "", false, exactArgs(1, "one cluster definition")(c, pos)
	}
	return pos[0], false, nil
}

// parseSlurmCmdArgs parses pcocc's flags of args, puts Slurm's options in
// o.slurmArgs and returns the positional arguments (positional: the
// command takes one, the last word).
func parseSlurmCmdArgs(c *cobra.Command, o *allocOpts, args []string, positional bool) (pos []string, help bool, err error) {
	fs := c.Flags()
	s, err := splitSlurmArgs(fs, args, positional)
	if err == nil {
		err = fs.Parse(s.own)
	}
	if err != nil {
		return nil, false, c.FlagErrorFunc()(c, err)
	}
	if help, _ = fs.GetBool("help"); help {
		return nil, true, c.Help()
	}
	o.slurmArgs = s.slurm
	return s.pos, false, nil
}

// trySlurm runs alloc or batch through Slurm when batch.yaml says so; done
// is false for the local batch manager.
func trySlurm(e *env, o *allocOpts, def string, batch bool) (done bool, err error) {
	if o.hooks != nil || o.idFD > 0 {
		return false, nil // the Docker environment and batch's detached alloc: local
	}
	cat := newCatalog(e)
	b, err := batchManager(cat)
	switch {
	case err != nil:
		return true, err
	case b.Type == config.BatchSlurm:
		return true, runSlurm(e, o, cat, b, def, batch)
	case o.dryRun:
		return true, usageErr("--dry-run: the local batch manager has no command line to print (batch.yaml type: slurm)")
	}
	return false, nil
}

func runAlloc(ctx context.Context, e *env, o *allocOpts, def string) error {
	e.verbose = o.verbose
	reqs, err := vm.ParseDef(def)
	if err != nil {
		return usageErr("%v", err)
	}
	res, err := o.resources()
	if err != nil {
		return err
	}
	cat := newCatalog(e)
	lookup := cat.Template
	accel, err := cat.accelerator()
	if err != nil {
		return err
	}
	// Templates first: a bad name or configuration is one line before
	// anything starts.
	for _, r := range reqs {
		if _, err := lookup(r.Template); err != nil {
			return err
		}
	}
	job, err := vmjob.Create(e.base, o.name)
	if err != nil {
		return err
	}
	defer job.Remove()
	if o.idFD > 0 {
		f := os.NewFile(uintptr(o.idFD), "id")
		fmt.Fprintln(f, job.ID)
		f.Close()
	}
	reaped, err := vmrun.StartReaper(job)
	if err != nil {
		return err
	}
	defer reaped()
	if o.hooks != nil {
		release, err := o.hooks.Started(cat, job)
		if err != nil {
			return err
		}
		defer release()
		lookup = func(name string) (vm.Template, error) {
			t, err := cat.Template(name)
			return o.hooks.Template(t), err
		}
	}
	vms, err := vm.Plan(reqs, lookup, res, job.Dir)
	if err != nil {
		return err
	}
	e.tracef("job %d planned: %d VM(s)", job.ID, len(vms))
	release, err := vmrun.LockDrives(job, vms)
	if err != nil {
		return err
	}
	defer release() // after the VMs are gone
	return runCluster(ctx, e, o, cat, job, vms, accel)
}

// runCluster starts the VMs, runs the shell or script and tears down.
func runCluster(ctx context.Context, e *env, o *allocOpts, cat *catalog, job *vmjob.Job, vms []vm.VM, forced string) error {
	// Until the shell runs, Ctrl-C ends the allocation.
	bootCtx, stopBoot := signal.NotifyContext(ctx, os.Interrupt)
	cl, err := startCluster(bootCtx, e, cat, job, vms, forced)
	interrupted := bootCtx.Err() != nil // before stopBoot, which cancels it
	stopBoot()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return exitcode.Wrap(exitcode.Signaled+int(syscall.SIGTERM), errors.New("terminated while the VMs started"))
		case interrupted:
			return exitcode.Wrap(exitcode.Signaled+int(syscall.SIGINT), errors.New("interrupted while the VMs started"))
		}
		return err
	}
	defer func() {
		cl.Stop()
		e.tracef("torn down")
	}()
	e.tracef("VMs started")
	fmt.Fprintln(e.stderr, "Configuring hosts... (done)")
	if o.hooks != nil {
		stop, err := readyHook(ctx, o, job, cl)
		if err != nil {
			return err
		}
		defer stop()
	}
	sh, err := startShell(e, o, job)
	if err != nil {
		return err
	}
	job.Shell, job.ShellGroup = sh.cmd.Process.Pid, sh.group
	if err := job.Save(); err != nil {
		sh.cmd.Process.Kill()
		return err
	}
	ended := make(chan func() error, 1)
	go func() {
		x := <-cl.Ended()
		ended <- func() error { return cl.Crash(x) }
	}()
	return sh.wait(ctx, e, ended)
}

// shellRun is a started shell or script.
type shellRun struct {
	cmd   *exec.Cmd
	group bool       // a script, in a process group of its own
	done  chan error // its Wait
	ints  chan os.Signal
}

// startShell starts the shell or script. The shell gets Ctrl-C; this
// process only notes it (until wait returns).
func startShell(e *env, o *allocOpts, job *vmjob.Job) (*shellRun, error) {
	r := &shellRun{group: o.script != "", done: make(chan error, 1), ints: make(chan os.Signal, 1)}
	signal.Notify(r.ints, os.Interrupt)
	r.cmd = shellCommand(e, o, job)
	if err := r.cmd.Start(); err != nil {
		signal.Stop(r.ints)
		return nil, err
	}
	go func() { r.done <- r.cmd.Wait() }()
	return r, nil
}

// wait waits for the shell (its status), for the cluster's end (ended
// gives the reason, asked once the shell is hung up), or for ctx.
func (r *shellRun) wait(ctx context.Context, e *env, ended <-chan func() error) error {
	defer signal.Stop(r.ints)
	for {
		select {
		case err := <-r.done:
			e.tracef("shell ended")
			return shellStatus(err)
		case why := <-ended:
			r.hangUp()
			return why()
		case <-ctx.Done():
			r.hangUp()
			return exitcode.Wrap(exitcode.Signaled+int(syscall.SIGTERM), errors.New("terminated"))
		case <-r.ints:
			if r.group {
				r.signal(syscall.SIGINT)
			}
		}
	}
}

// signal: a script runs in a process group of its own, ended whole with
// the job; Ctrl-C reaches it through this process.
func (r *shellRun) signal(sig syscall.Signal) {
	if r.group {
		syscall.Kill(-r.cmd.Process.Pid, sig)
	} else {
		r.cmd.Process.Signal(sig)
	}
}

func (r *shellRun) hangUp() { hangUp(r.signal, r.done) }

// readyHook runs the hooks' Ready; Ctrl-C, SIGTERM or a VM that ends stop
// the wait.
func readyHook(ctx context.Context, o *allocOpts, job *vmjob.Job, cl *vmrun.Cluster) (func(), error) {
	waitCtx, cancel := signal.NotifyContext(ctx, os.Interrupt)
	defer cancel()
	done, crashed := make(chan struct{}), make(chan *vmrun.Exit, 1)
	go func() {
		select {
		case x := <-cl.Ended():
			crashed <- &x
			cancel()
		case <-done:
			crashed <- nil
		}
	}()
	env, stop, err := o.hooks.Ready(waitCtx, job)
	close(done)
	if x := <-crashed; x != nil {
		if err == nil {
			stop()
		}
		return nil, cl.Crash(*x)
	}
	if err == nil {
		o.env = append(o.env, env...)
		return stop, nil
	}
	switch {
	case ctx.Err() != nil:
		return nil, exitcode.Wrap(exitcode.Signaled+int(syscall.SIGTERM), errors.New("terminated while the Docker VM started"))
	case waitCtx.Err() != nil:
		return nil, exitcode.Wrap(exitcode.Signaled+int(syscall.SIGINT), errors.New("interrupted while the Docker VM started"))
	}
	return nil, err
}

// startCluster brings the network up while it writes the seeds and makes
// the overlays (the network's namespaces, dnsmasq and slirp4netns take
// 0.3–0.5 s), then starts the VMs. On error nothing is left running.
func startCluster(ctx context.Context, e *env, cat *catalog, job *vmjob.Job, vms []vm.VM, forced string) (*vmrun.Cluster, error) {
	type netResult struct {
		net *clusterNet
		err error
	}
	spec, err := cat.networkSpec(vms)
	if err != nil {
		return nil, err
	}
	netc := make(chan netResult, 1)
	go func() {
		n, err := newNetwork(ctx, job, spec, vms)
		netc <- netResult{n, err}
	}()
	err = cat.prepareGuests(vms, job.Dir)
	e.tracef("seeds written")
	if err == nil {
		err = vmrun.MakeOverlays(ctx, vms)
		e.tracef("overlays made")
	}
	nr := <-netc
	e.tracef("network up")
	if err == nil {
		err = nr.err
	}
	if err != nil {
		if nr.net != nil {
			nr.net.Close()
		}
		return nil, err
	}
	accel := vmrun.DetectAccel(ctx, forced, filepath.Dir(job.Dir))
	fmt.Fprintf(e.stderr, "%s: job %d: starting %d VM(s) (%s)\n", e.name, job.ID, len(vms), accel)
	cl, err := vmrun.Start(ctx, job, vms, accel, nr.net)
	if err != nil {
		nr.net.Close()
		return nil, err
	}
	return cl, nil
}

// hangUp ends the shell or script: SIGHUP, then SIGKILL after 5 s (a
// script may ignore hang-ups; the cluster must still end).
func hangUp(signal func(syscall.Signal), done <-chan error) {
	signal(syscall.SIGHUP)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		signal(syscall.SIGKILL)
		<-done
	}
}

// shellCommand is -E SCRIPT under sh, or the user's shell with the prompt
// (pcocc/JOBID).
func shellCommand(e *env, o *allocOpts, job *vmjob.Job) *exec.Cmd {
	var cmd *exec.Cmd
	prompt := fmt.Sprintf("(pcocc/%d) ", job.ID)
	if o.script != "" {
		cmd = exec.Command("/bin/sh", "-c", o.script)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	} else {
		shell := e.getenv("SHELL")
		if shell == "" {
			shell = "/bin/sh"
		}
		if filepath.Base(shell) == "bash" {
			rc := filepath.Join(job.Dir, "bashrc")
			os.WriteFile(rc, []byte("[ -f ~/.bashrc ] && . ~/.bashrc\nPS1='"+prompt+"'\"$PS1\"\n"), 0o600)
			cmd = exec.Command(shell, "--rcfile", rc, "-i")
		} else {
			cmd = exec.Command(shell, "-i")
		}
	}
	cmd.Env = append(append(os.Environ(), "PCOCC_JOB_ID="+strconv.Itoa(job.ID), "PS1="+prompt), o.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	return cmd
}

// shellStatus passes the shell's or script's status through.
func shellStatus(err error) error {
	if err == nil {
		return nil
	}
	var xe *exec.ExitError
	if errors.As(err, &xe) {
		if ws, ok := xe.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitcode.Silent(128 + int(ws.Signal()))
		}
		return exitcode.Silent(xe.ExitCode())
	}
	return err
}

func (o *allocOpts) resources() (vm.Resources, error) {
	r := vm.Resources{Cores: o.cores, NodeCores: nodeCores(), NodeMemMiB: nodeMemMiB()}
	if o.cores < 0 {
		return r, usageErr("-c %d: the number of cores must be positive", o.cores)
	}
	if o.mem != "" {
		m, err := parseMiB(o.mem)
		if err != nil {
			return r, usageErr("-m %s: %v", o.mem, err)
		}
		r.MemMiB = m
	}
	return r, nil
}

// parseMiB reads 512, 512M, 2G (MiB by default).
func parseMiB(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(strings.ToUpper(s), "G"):
		mult, s = 1024, s[:len(s)-1]
	case strings.HasSuffix(strings.ToUpper(s), "M"):
		s = s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, errors.New("expected a positive size in MiB, or with a unit M or G")
	}
	return n * mult, nil
}

// nodeCores counts the CPUs this process may run on.
func nodeCores() int { return runtime.NumCPU() }

// nodeMemMiB is MemTotal from /proc/meminfo.
func nodeMemMiB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 0
}
