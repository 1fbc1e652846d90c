package vmcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/etcdstate"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmrun"
)

// noVMPathStatus is the hypervisor's status when the Slurm plugin's VM
// path did not give it a tap (not installed on the node).
const noVMPathStatus = 125

// vmEnv is what the Slurm plugin's VM path gives each task (as root, from
// what __vm-setup create made for it), checked before QEMU sees it.
type vmEnv struct {
	Index           int
	Tap, MAC, Addr  string
	Network, Node   string
	Job, Tasks, MTU int
}

var (
	tapName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,15}$`)
	macAddr = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
)

// readVMEnv reads PCOCC_VM_* and SLURM_*; errNoVMPath when the plugin set
// no tap.
func readVMEnv(getenv func(string) string) (vmEnv, error) {
	v := vmEnv{Tap: getenv("PCOCC_VM_TAP"), MAC: getenv("PCOCC_VM_MAC"), Addr: getenv("PCOCC_VM_ADDR"),
		Network: getenv("PCOCC_VM_NETWORK"), Node: getenv("SLURMD_NODENAME")}
	var err error
	if v.Job, err = strconv.Atoi(getenv("SLURM_JOB_ID")); err != nil {
		return v, errors.New("not in a Slurm job (no SLURM_JOB_ID)")
	}
	if v.Index, err = strconv.Atoi(getenv("SLURM_PROCID")); err != nil || v.Index < 0 {
		return v, errors.New("not a Slurm task (no SLURM_PROCID)")
	}
	v.Tasks, _ = strconv.Atoi(getenv("SLURM_NTASKS"))
	if v.Tap == "" {
		return v, errNoVMPath
	}
	if i := getenv("PCOCC_VM_INDEX"); i != strconv.Itoa(v.Index) {
		return v, fmt.Errorf("PCOCC_VM_INDEX=%q is not the task's rank %d", i, v.Index)
	}
	if !tapName.MatchString(v.Tap) {
		return v, fmt.Errorf("PCOCC_VM_TAP=%q: not an interface name", v.Tap)
	}
	if !macAddr.MatchString(v.MAC) {
		return v, fmt.Errorf("PCOCC_VM_MAC=%q: not a MAC address", v.MAC)
	}
	if m := getenv("PCOCC_VM_MTU"); m != "" {
		if v.MTU, err = strconv.Atoi(m); err != nil || v.MTU < 576 {
			return v, fmt.Errorf("PCOCC_VM_MTU=%q: not an MTU", m)
		}
	}
	return v, nil
}

var errNoVMPath = errors.New("no tap from the Slurm plugin (PCOCC_VM_TAP)")

func newHypervisorCmd(e *env) *cobra.Command {
	o := &allocOpts{}
	c := &cobra.Command{
		Use:    hypervisorCommand + " [-c N] [-m MiB] DEF",
		Hidden: true,
		Args:   exactArgs(1, "one cluster definition"),
		RunE: func(c *cobra.Command, args []string) error {
			return runHypervisor(c.Context(), e, o, args[0])
		},
	}
	c.Flags().IntVarP(&o.cores, "cores", "c", 0, "cores per VM")
	c.Flags().StringVarP(&o.mem, "mem", "m", "", "memory per VM")
	c.Flags().BoolVar(&o.docker, dockerSlurmFlag, false, "a Docker environment: attach the template's data disk as its guest looks for it")
	return c
}

// runHypervisor runs one VM of a Slurm cluster, the task's: it tells the
// launcher (hvMarker lines) when QEMU runs and why it ends.
func runHypervisor(ctx context.Context, e *env, o *allocOpts, def string) error {
	// srun's cancel may reach the task as SIGINT: end as for SIGTERM.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	v, err := readVMEnv(e.getenv)
	say := func(err error) error {
		node := v.Node
		if node == "" {
			node, _ = os.Hostname()
		}
		// The launcher names the VM: not twice.
		msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("vm%d: ", v.Index))
		fmt.Fprintf(e.stdout, "%s ended %d %s\n", hvMarker, v.Index, strconv.Quote("on "+node+": "+msg))
		return exitcode.Silent(exitcode.Of(err))
	}
	if errors.Is(err, errNoVMPath) {
		return say(exitcode.Wrap(noVMPathStatus, fmt.Errorf("the Slurm plugin's VM network is not installed: %v", err)))
	}
	if err != nil {
		return say(exitcode.Wrap(exitcode.Failure, err))
	}
	if err := hypervise(ctx, e, o, def, v); err != nil {
		return say(err)
	}
	return nil
}

// hypervise plans the cluster as the front end did, keeps the task's VM,
// makes its files in a node-local 0700 directory and runs it until it ends
// or the step is cancelled.
func hypervise(ctx context.Context, e *env, o *allocOpts, def string, ve vmEnv) error {
	reqs, err := vm.ParseDef(def)
	if err != nil {
		return err
	}
	cat := newCatalog(e)
	mem := 0
	if o.mem != "" {
		if mem, err = parseMiB(o.mem); err != nil {
			return fmt.Errorf("-m %s: %v", o.mem, err)
		}
	}
	mem = hypervisorMemMiB(mem, max(o.cores, 1), e.getenv)
	sweepVMDirs()
	dir, unlock, err := makeVMDir(ve)
	if err != nil {
		return err
	}
	defer unlock()
	lookup := cat.Template
	if o.docker {
		lookup = dockerTemplates(cat)
	}
	vms, err := vm.Plan(reqs, lookup, vm.Resources{Cores: o.cores, MemMiB: mem}, dir)
	if err != nil {
		return err
	}
	if ve.Index >= len(vms) || (ve.Tasks > 0 && ve.Tasks != len(vms)) {
		return fmt.Errorf("task %d of %d: the definition has %d VMs", ve.Index, ve.Tasks, len(vms))
	}
	one := vms[ve.Index : ve.Index+1]
	one[0].MAC = ve.MAC
	if err := cat.prepareGuests(one, dir); err != nil {
		return err
	}
	if err := vmrun.MakeOverlays(ctx, one); err != nil {
		return err
	}
	forced, err := cat.accelerator()
	if err != nil {
		return err
	}
	job := &vmjob.Job{State: vmjob.State{ID: ve.Job, Pid: os.Getpid()}, Dir: dir}
	cl, err := vmrun.Start(ctx, job, one, vmrun.DetectAccel(ctx, forced, dir), tapNet{ve})
	if err != nil {
		return err
	}
	defer cl.Stop()
	if err := writeNodeVM(dir, job); err != nil {
		return err
	}
	unregister, err := register(ctx, e, cat, ve, dir)
	if err != nil {
		return err
	}
	defer unregister()
	fmt.Fprintf(e.stdout, "%s ready %d\n", hvMarker, ve.Index)
	select {
	case x := <-cl.Ended():
		return cl.Crash(x)
	case <-ctx.Done():
		return nil
	}
}

// nodeVMFile, in a hypervisor's directory, is its VM as started (image and
// revision included): what the node-side commands (pcocc save) read.
const nodeVMFile = "vm.json"

func writeNodeVM(dir string, job *vmjob.Job) error {
	if len(job.VMs) != 1 {
		return fmt.Errorf("hypervisor: %d VMs started, want 1", len(job.VMs))
	}
	b, err := json.Marshal(job.VMs[0])
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, nodeVMFile), b, 0o600)
}

// tapNet is a Slurm VM's network: the tap the plugin made, owned by the
// user, on the cluster's bridge; DHCP, DNS and reverse NAT are the
// plugin's (on the cluster's first node).
type tapNet struct{ ve vmEnv }

func (t tapNet) NetArgs(int) []string {
	return []string{"-netdev", "tap,id=net0,ifname=" + t.ve.Tap + ",script=no,downscript=no"}
}
func (t tapNet) MAC(int) string                             { return t.ve.MAC }
func (t tapNet) Command(name string, a ...string) *exec.Cmd { return exec.Command(name, a...) }
func (t tapNet) HostPort(string, int) (int, bool)           { return 0, false }
func (t tapNet) Close() error                               { return nil }

// register records the running VM in etcd (the user's subtree, under a
// lease: a killed hypervisor's key expires), with its SSH host key, for
// ssh from the login nodes. Without etcd-servers in batch.yaml there is
// nothing to record: the launcher knows the VM runs from its ready line.
func register(ctx context.Context, e *env, cat *catalog, ve vmEnv, dir string) (func(), error) {
	b, err := batchManager(cat)
	if err != nil || len(b.EtcdServers) == 0 {
		return func() {}, err
	}
	c, err := userEtcd(e, b)
	if err != nil {
		return nil, err
	}
	h := etcdstate.Hypervisor{Name: fmt.Sprintf("vm%d", ve.Index), Node: ve.Node, Pid: os.Getpid()}
	if known, err := os.ReadFile(filepath.Join(dir, knownHostsFile)); err == nil {
		_, h.HostKey, _ = strings.Cut(strings.TrimSpace(string(known)), " ")
	}
	stop, err := c.Register(ctx, etcdstate.UserVMKey(os.Getuid(), uint64(ve.Job), ve.Index), h)
	if err != nil {
		c.Close()
		return nil, err
	}
	return func() { stop(); c.Close() }, nil
}

// A hypervisor's node-local directory, $TMPDIR/pcocc-JOB-vmN-*, is locked
// (flock on its lock file) while it runs. One whose hypervisor was killed
// (SIGKILL: srun's cancel, the node's OOM killer) is removed by the next
// hypervisor of the same user on the node.
const vmDirLock = "lock"

var vmDirName = regexp.MustCompile(`^pcocc-[0-9]+-vm[0-9]+-[0-9]+$`)

func makeVMDir(ve vmEnv) (string, func(), error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("pcocc-%d-vm%d-", ve.Job, ve.Index))
	if err != nil {
		return "", nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, vmDirLock), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("VM directory lock: %w", err)
	}
	return dir, func() { os.RemoveAll(dir); f.Close() }, nil
}

// sweepVMDirs removes this user's VM directories whose lock is free.
func sweepVMDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pcocc-*-vm*-*"))
	for _, d := range dirs {
		if ownVMDir(d) && !vmDirBusy(d) {
			os.RemoveAll(d)
		}
	}
}

// ownVMDir: d is named as a VM directory, and is this user's directory.
func ownVMDir(d string) bool {
	st, err := os.Lstat(d)
	return err == nil && vmDirName.MatchString(filepath.Base(d)) && st.IsDir() &&
		st.Sys().(*syscall.Stat_t).Uid == uint32(os.Getuid())
}

// vmDirBusy: the hypervisor of VM directory d runs (holds its lock); one
// with no lock file counts as busy (not ours to remove).
func vmDirBusy(d string) bool {
	f, err := os.OpenFile(filepath.Join(d, vmDirLock), os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
