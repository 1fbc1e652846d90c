package vmcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/dockerenv"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmclient"
	"github.com/pcocc/pcocc/internal/vmjob"
)

func newDockerCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "docker COMMAND",
		Short: "A Docker engine in a VM, for the host's docker CLI",
		Long: `A Docker environment: one VM of a docker template runs the Docker engine;
in the shell (prompt (pcocc/JOBID)) or script of the allocation, DOCKER_HOST
names a socket of the job, reachable only by you, whose connections go
over ssh to the engine. Images go to and from repositories with
pcocc docker import / export / build, or pcocc image import docker-daemon:.
'pcocc help docker' describes it.`,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for \"%s docker\" (see '%s docker --help')", args[0], e.name, e.name)
			}
			return c.Help()
		},
	}
	c.AddCommand(newDockerAllocCmd(e, false), newDockerAllocCmd(e, true), newDockerShellCmd(e), newDockerEnvCmd(e))
	c.AddCommand(newDockerExchangeCmds(e)...)
	return c
}

type dockerOpts struct {
	req       dockerenv.Request
	alloc     allocOpts
	timeoutIn string
}

func newDockerAllocCmd(e *env, batch bool) *cobra.Command {
	o := &dockerOpts{}
	c := &cobra.Command{
		Use:   "alloc [-p PART] [-c CORES] [-t TEMPLATE] [-E SCRIPT] [-T TIMEOUT] [salloc options]",
		Short: "Start a Docker environment and open a shell in it",
		Long: `Start one VM of the docker template (-t), wait until its Docker engine
answers (-T), then open a shell whose prompt is (pcocc/JOBID) and where
DOCKER_HOST names the engine, or run -E SCRIPT. The VM has 2 GiB of memory
per core (-c): without a data disk the engine keeps images and containers
there. Leaving the shell or the end of the script ends the environment.

Under Slurm (batch.yaml type: slurm) any option not listed here goes to
salloc as written, as for pcocc alloc (-t is the template here: Slurm's
time limit is --time).`,
		// Slurm's options are passed on, as alloc's (slurmargs.go).
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			pos, help, err := parseSlurmCmdArgs(c, &o.alloc, args, false)
			if err != nil || help {
				return err
			}
			if len(pos) > 0 {
				return exactArgs(0, "no arguments")(c, pos)
			}
			return runDockerAlloc(c.Context(), e, o, batch)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.alloc.partition, "partition", "p", "", "partition (Slurm; the local batch manager ignores it)")
	f.StringVarP(&o.alloc.account, "account", "A", "", "account (Slurm; the local batch manager ignores it)")
	f.IntVarP(&o.req.Cores, "cores", "c", 1, "cores of the VM (memory: 2 GiB per core)")
	f.StringVarP(&o.req.Template, "template", "t", dockerenv.DefaultTemplate, "the VM template (docker-persist: the engine's data on your persistent disk)")
	f.StringVarP(&o.alloc.script, "script", "E", "", "run this shell script on the host instead of an interactive shell")
	f.StringVarP(&o.timeoutIn, "timeout", "T", dockerenv.DefaultTimeout.String(), "how long to wait for the engine (300s, 10m)")
	f.StringVarP(&o.alloc.name, "jobname", "J", "", "name the environment, for -J of the other commands")
	f.BoolVar(&o.alloc.dryRun, "dry-run", false, "print the salloc (sbatch) and srun command lines and submit nothing (batch.yaml type: slurm)")
	f.IntVar(&o.alloc.idFD, "id-fd", 0, "")
	f.MarkHidden("id-fd")
	if batch {
		c.Use = "batch [-p PART] [-c CORES] [-t TEMPLATE] [-E SCRIPT] [-T TIMEOUT] [sbatch options]"
		c.Short = "Start a Docker environment in the background"
		c.Long = `Start a Docker environment as docker alloc does, detached from the
terminal, running -E SCRIPT (its output and the environment's messages go
to the output file, -o), or, without a script, until pcocc cancel -j JOBID
ends it (pcocc docker shell joins it meanwhile). Prints the job id.

Under Slurm (batch.yaml type: slurm) any option not listed here goes to
sbatch as written, as for pcocc batch.`
		f.StringVarP(&o.alloc.output, "output", "o", "", "output file (default: pcocc-JOBID.out); %j is the job id")
	}
	return c
}

func runDockerAlloc(ctx context.Context, e *env, o *dockerOpts, batch bool) error {
	d, err := time.ParseDuration(o.timeoutIn)
	if n, aerr := strconv.Atoi(o.timeoutIn); aerr == nil {
		d, err = time.Duration(n)*time.Second, nil
	}
	if err != nil || d <= 0 {
		return usageErr("-T %s: expected a positive duration in seconds or with a unit (300, 300s, 10m)", o.timeoutIn)
	}
	o.req.Timeout = d
	p, err := dockerenv.NewPlan(o.req)
	if err != nil {
		return usageErr("%v", err)
	}
	a := &o.alloc
	a.cores, a.mem = p.Cores, strconv.Itoa(p.MemMiB)
	if batch && a.script == "" {
		// Until cancelled: the environment is joined with docker shell.
		a.script = "while :; do sleep 3600; done"
	}
	b, err := batchManager(newCatalog(e))
	if err != nil {
		return err
	}
	if b.Type == config.BatchSlurm {
		return runDockerSlurm(e, o, p, b, batch)
	}
	if a.dryRun {
		return usageErr("--dry-run: the local batch manager has no command line to print (batch.yaml type: slurm)")
	}
	if len(a.slurmArgs) > 0 {
		return usageErr("unknown flag: %s (Slurm's options need batch.yaml type: slurm; see '%s docker --help')", a.slurmArgs[0], e.name)
	}
	a.hooks = &dockerHooks{e: e, plan: p}
	if batch {
		return runBatch(ctx, e, a, p.Def)
	}
	return runAlloc(ctx, e, a, p.Def)
}

// dockerHooks are the Docker environment's steps of an allocation.
type dockerHooks struct {
	e        *env
	plan     dockerenv.Plan
	disk     string   // the data disk, or ""
	diskArgs []string // qemu arguments of the data disk
}

// Started locks the template's data disk (its first persistent drive),
// naming this job as the holder.
func (h *dockerHooks) Started(cat *catalog, job *vmjob.Job) (func(), error) {
	disk, release, err := lockDataDisk(h.e, cat, h.plan.Def, job.ID)
	if err != nil || disk == "" {
		return release, err
	}
	h.disk, h.diskArgs = disk, dockerenv.DataDiskArgs(disk)
	return release, nil
}

// lockDataDisk locks the data disk of the docker template def, if it has
// one, naming job id of this process as the holder.
func lockDataDisk(e *env, cat *catalog, def string, id int) (disk string, release func(), err error) {
	disk, err = dockerDataDisk(cat, def)
	if err != nil || disk == "" {
		return "", func() {}, err
	}
	host, _ := os.Hostname()
	release, err = dockerenv.LockDisk(disk, fmt.Sprintf("job %d of %s on %s (pid %d)", id, currentUser(e), host, os.Getpid()))
	return disk, release, err
}

// Template attaches the data disk as the guest looks for it.
func (h *dockerHooks) Template(t vm.Template) vm.Template {
	if h.disk == "" {
		return t
	}
	return withDataDisk(t, h.disk, h.diskArgs)
}

// withDataDisk attaches disk with the serial the guest looks for (args),
// in place of the VM runtime's persistent drive (which has none), and so
// under the Docker environment's lock rather than vmrun.LockDrives.
func withDataDisk(t vm.Template, disk string, args []string) vm.Template {
	var drives []vm.Drive
	for _, d := range t.Drives {
		if d.Path != disk {
			drives = append(drives, d)
		}
	}
	t.Drives = drives
	t.CustomArgs = append(append([]string(nil), t.CustomArgs...), args...)
	return t
}

// Ready serves the job's socket and waits until the engine answers through
// it, within the plan's timeout.
func (h *dockerHooks) Ready(ctx context.Context, job *vmjob.Job) ([]string, func(), error) {
	fmt.Fprintln(h.e.stderr, "Waiting for Docker VM to start ...")
	stop, err := serveEngine(ctx, h.e, job, job.Dir, h.plan.Timeout, h.diskArgs != nil)
	if err != nil {
		return nil, nil, err
	}
	return []string{"DOCKER_HOST=" + dockerenv.DockerHost(job.Dir)}, stop, nil
}

// serveEngine logs in to the job's vm0, serves the engine's socket in dir
// and waits, within timeout, until the engine answers through it. stop
// closes the socket and, when the VM has a data disk (flush), stops the
// engine and unmounts the disk first.
func serveEngine(ctx context.Context, e *env, job *vmjob.Job, dir string, timeout time.Duration, flush bool) (stop func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	g := &guestDialer{e: e, job: job}
	if err := g.connect(ctx); err != nil {
		return nil, engineNotReady(ctx, timeout, err)
	}
	ln, err := dockerenv.Listen(dir)
	if err != nil {
		g.close()
		return nil, fmt.Errorf("the Docker socket: %w", err)
	}
	go dockerenv.Serve(ln, g.dial)
	stop = func() {
		ln.Close()
		if flush {
			flushDataDisk(e, g)
		}
		g.close()
	}
	if err := dockerenv.WaitEngine(ctx, g.dial, timeout); err != nil {
		stop()
		return nil, engineNotReady(ctx, timeout, err)
	}
	return stop, nil
}

// flushDataDisk stops the engine and unmounts its data disk before the VM
// is killed; a failure is a warning (the ext4 journal keeps the disk
// consistent, the last writes may be lost).
func flushDataDisk(e *env, g *guestDialer) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	g.mu.Lock()
	cl := g.cl
	g.mu.Unlock()
	code, err := -1, errors.New("no ssh connection")
	if cl != nil {
		code, err = cl.Run(ctx, dockerenv.FlushCommand, vmclient.IO{Stdout: &out, Stderr: &out})
	}
	if err != nil || code != 0 {
		fmt.Fprintf(e.stderr, "%s: warning: the Docker data disk was not unmounted cleanly (%v, status %d): the last changes may be lost %s\n",
			e.name, err, code, strings.TrimSpace(out.String()))
	}
}

func engineNotReady(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the Docker VM did not answer within %s (-T sets the timeout): %v", timeout, err)
	}
	return err
}

func (h *dockerHooks) Detached(o *allocOpts) []string {
	a := []string{h.e.name, "docker", "alloc", "-E", o.script, "--id-fd", "3", "-t", h.plan.Def,
		"-c", strconv.Itoa(h.plan.Cores), "-T", h.plan.Timeout.String()}
	if o.name != "" {
		a = append(a, "-J", o.name)
	}
	return a
}

// guestDialer opens connections to the engine's socket in vm0 over one ssh
// connection, made again when it breaks.
type guestDialer struct {
	e   *env
	job *vmjob.Job
	cfg vmclient.Config
	mu  sync.Mutex
	cl  *vmclient.Client
}

func (g *guestDialer) connect(ctx context.Context) error {
	v, err := g.job.VM("vm0")
	if err != nil {
		return err
	}
	key, err := vmclient.LoadKey(userKey(g.e))
	if err != nil {
		return err
	}
	hk, err := knownHostKey(g.job, v.Name)
	if err != nil {
		return err
	}
	addr, err := sshAddr(v)
	if err != nil {
		return err
	}
	g.cfg = vmclient.Config{Addr: addr, User: currentUser(g.e),
		Key: key, HostKey: hk, DialTimeout: 3 * time.Minute, KeyExchanges: []string{"curve25519-sha256"}}
	deadline, _ := ctx.Deadline()
	cl, err := vmclient.WaitSSH(ctx, g.cfg, time.Until(deadline))
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.cl = cl
	g.mu.Unlock()
	return nil
}

func (g *guestDialer) dial() (net.Conn, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cl == nil {
		return nil, errors.New("ssh: closed")
	}
	c, err := g.cl.DialUnix(dockerenv.GuestSocket)
	if err == nil || !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		return c, err
	}
	// The ssh connection broke: one more.
	g.cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, derr := vmclient.Dial(ctx, g.cfg)
	if derr != nil {
		return nil, err
	}
	g.cl = cl
	return cl.DialUnix(dockerenv.GuestSocket)
}

func (g *guestDialer) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cl != nil {
		g.cl.Close()
		g.cl = nil
	}
}

// sshAddr is where VM v's port 22 is forwarded: the loopback port of a
// local cluster, its node's reverse NAT under Slurm.
func sshAddr(v vmjob.VM) (string, error) {
	port, host := v.SSHPort, "127.0.0.1"
	if p, ok := v.Ports[22]; ok && port == 0 {
		port = p
	}
	if v.Host != "" {
		host = v.Host
	}
	if port == 0 {
		return "", fmt.Errorf("%s: its ssh port is not known", v.Name)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// knownHostKey is the host key the job's seed gave VM name.
func knownHostKey(job *vmjob.Job, name string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(filepath.Join(job.Dir, knownHostsFile))
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		host, rest, ok := strings.Cut(l, " ")
		if ok && host == name {
			k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rest))
			return k, err
		}
	}
	return nil, fmt.Errorf("%s: no host key recorded for it", name)
}

// currentUser is the login the VM's seed creates.
func currentUser(e *env) string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return e.getenv("USER")
}
