package vmcli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/etcdstate"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// userEtcd connects to batch.yaml's etcd as the user (pcocc-u<UID>) with
// their credential: the job's PCOCC_ETCD_CRED inside a job, else
// ~/.pcocc/etcd-password.
func userEtcd(e *env, b config.Batch) (*etcdstate.Client, error) {
	if len(b.EtcdServers) == 0 {
		return nil, errors.New("batch.yaml: settings: etcd-servers names no server (Slurm clusters keep their state in etcd)")
	}
	cred := e.getenv(etcdCredEnv)
	if cred == "" {
		var err error
		if cred, err = etcdCred(filepath.Join(e.getenv("HOME"), ".pcocc")); err != nil {
			return nil, err
		}
	}
	if !etcdstate.ValidCred(cred) {
		return nil, fmt.Errorf("%s: expected 32 hexadecimal characters", etcdCredEnv)
	}
	return etcdstate.Open(etcdstate.Endpoints(b.EtcdServers, b.EtcdPort, b.EtcdProto), etcdstate.UserName(os.Getuid()), cred)
}

// slurmJob finds the targeted Slurm cluster (-j, -J through squeue,
// $PCOCC_JOB_ID, or the user's only pcocc job) and reads where its VMs
// are from etcd: a job whose VMs' ports are on their nodes' addresses, and
// whose directory holds only the known_hosts of its VMs (removed at exit).
func (t *target) slurmJob(e *env, b config.Batch) (*vmjob.Job, error) {
	id, err := t.slurmID(e)
	if err != nil {
		return nil, err
	}
	c, err := userEtcd(e, b)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	view, err := c.View(os.Getuid(), uint64(id))
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	if len(view.RNAT) == 0 && len(view.VMs) == 0 {
		return nil, fmt.Errorf("job %d: no cluster of VMs of yours in etcd (pcocc ps lists them)", id)
	}
	dir, err := os.MkdirTemp("", "pcocc-known-")
	if err != nil {
		return nil, err
	}
	e.atExit(func() { os.RemoveAll(dir) })
	job := &vmjob.Job{State: vmjob.State{ID: id, Slurm: true}, Dir: dir}
	job.VMs = viewVMs(view)
	if known := viewKnownHosts(view); known != "" {
		err = os.WriteFile(filepath.Join(dir, knownHostsFile), []byte(known), 0o600)
	}
	return job, err
}

// viewVMs are the VMs of a view, in index order, with their reverse NAT.
func viewVMs(view etcdstate.ClusterView) []vmjob.VM {
	idx := map[int]bool{}
	for i := range view.RNAT {
		idx[i] = true
	}
	for i := range view.VMs {
		idx[i] = true
	}
	var order []int
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	var vms []vmjob.VM
	for _, i := range order {
		v := vmjob.VM{Name: fmt.Sprintf("vm%d", i), Ports: map[int]int{}, Node: view.VMs[i].Node}
		for guest, hp := range view.RNAT[i] {
			h, p, err := net.SplitHostPort(hp)
			port, perr := strconv.Atoi(p)
			if err != nil || perr != nil {
				continue
			}
			v.Host, v.Ports[guest] = h, port
		}
		vms = append(vms, v)
	}
	return vms
}

func viewKnownHosts(view etcdstate.ClusterView) string {
	var sb strings.Builder
	for i, h := range view.VMs {
		if h.HostKey != "" && !strings.ContainsAny(h.HostKey, "\n\r") {
			fmt.Fprintf(&sb, "vm%d %s\n", i, h.HostKey)
		}
	}
	return sb.String()
}

// slurmID is the targeted job's id.
func (t *target) slurmID(e *env) (int, error) {
	switch {
	case t.id != 0:
		return t.id, nil
	case e.getenv("PCOCC_JOB_ID") != "":
		id, err := strconv.Atoi(e.getenv("PCOCC_JOB_ID"))
		if err != nil {
			return 0, fmt.Errorf("PCOCC_JOB_ID=%q is not a job id", e.getenv("PCOCC_JOB_ID"))
		}
		return id, nil
	}
	name := t.name
	if name == "" {
		name = defaultJobName
	}
	ids, err := squeueIDs(e, name)
	if err != nil {
		return 0, err
	}
	switch len(ids) {
	case 0:
		return 0, fmt.Errorf("you have no running cluster of VMs named %s in Slurm (start one with pcocc alloc)", name)
	case 1:
		return ids[0], nil
	}
	return 0, usageErr("you have %d running clusters named %s: choose one with -j JOBID (pcocc ps lists them)", len(ids), name)
}

// squeueIDs are the user's running jobs named name.
func squeueIDs(e *env, name string) ([]int, error) {
	return squeueUser("-t", "R", "-n", name)
}

// slurmPs lists the user's Slurm clusters: the jobs with VMs registered in
// etcd, with what squeue says of them.
func slurmPs(e *env, b config.Batch) error {
	c, err := userEtcd(e, b)
	if err != nil {
		return err
	}
	defer c.Close()
	jobs, err := c.UserJobs(os.Getuid())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "JOBID\tNAME\tVMS\tSTATE\tTIME\tNODES")
	if len(jobs) == 0 {
		return nil
	}
	var ids []string
	for id := range jobs {
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	out, err := exec.Command("squeue", "-h", "-j", strings.Join(ids, ","), "-o", "%i|%j|%T|%M|%N").Output()
	if err != nil {
		return fmt.Errorf("squeue: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(lines)
	for _, l := range lines {
		f := strings.Split(l, "|")
		id, err := strconv.ParseUint(f[0], 10, 64)
		if len(f) != 5 || err != nil {
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", id, f[1], jobs[id], f[2], f[3], f[4])
	}
	return nil
}

// onNodeFlag marks a command that runOnNode started on the VM's node.
const onNodeFlag = "on-node"

// runOnNode runs `pcocc-vm CMD FLAGS --on-node -j JOB vmN` in the job's
// allocation on the VM's node (srun --overlap: a step beside the
// hypervisors), where the VM's console and QMP sockets are.
func runOnNode(e *env, j *vmjob.Job, v vmjob.VM, cmd string, flags []string) error {
	if v.Node == "" || !slurmNodeName.MatchString(v.Node) {
		return fmt.Errorf("%s: its node is not known (no registration in etcd)", v.Name)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	argv := []string{"--jobid=" + strconv.Itoa(j.ID), "--overlap", "-N1", "-n1", "-w", v.Node, "-Q"}
	if cmd == "console" && len(flags) == 0 {
		argv = append(argv, "--pty")
	}
	argv = append(append(append(argv, self, cmd), flags...), "--"+onNodeFlag, "-j", strconv.Itoa(j.ID), v.Name)
	c := exec.Command("srun", argv...)
	c.Stdin, c.Stdout, c.Stderr = e.stdin, e.stdout, e.stderr
	return shellStatus(c.Run())
}

var slurmNodeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// nodeJob is, on a Slurm VM's node, the job of its hypervisor's directory
// (the one of this user whose lock is held).
func nodeJob(id int, name string) (*vmjob.Job, vmjob.VM, error) {
	var idx int
	if _, err := fmt.Sscanf(name, "vm%d", &idx); err != nil || fmt.Sprintf("vm%d", idx) != name {
		return nil, vmjob.VM{}, usageErr("%q: expected a VM name (vm0, vm1, ...)", name)
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("pcocc-%d-vm%d-*", id, idx)))
	for _, d := range dirs {
		if ownVMDir(d) && vmDirBusy(d) {
			v := vmjob.VM{Name: name}
			if b, err := os.ReadFile(filepath.Join(d, nodeVMFile)); err == nil {
				if err := json.Unmarshal(b, &v); err != nil || v.Name != name {
					return nil, vmjob.VM{}, fmt.Errorf("%s: %s: not this VM's record", name, filepath.Join(d, nodeVMFile))
				}
			}
			return &vmjob.Job{State: vmjob.State{ID: id, VMs: []vmjob.VM{v}}, Dir: d}, v, nil
		}
	}
	host, _ := os.Hostname()
	return nil, vmjob.VM{}, fmt.Errorf("%s of job %d: not running on %s", name, id, host)
}
