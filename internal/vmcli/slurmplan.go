package vmcli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmclient"
	"github.com/pcocc/pcocc/internal/vmsetup"
)

// slurmJob is what a Slurm cluster is submitted with: the command line's
// options, batch.yaml's batch-args and what the definition gives.
type slurmJob struct {
	Def       string // the cluster definition, as given
	NVMs      int    // one Slurm task per VM
	Cores     int    // per VM (-c, else the templates' largest, else 1)
	MemMiB    int    // per VM (-m); 0: what the allocation gives
	Partition string
	Name      string // -J; "" is "pcocc"
	Account   string
	BatchArgs []string // batch.yaml's, first
	UserArgs  []string // the user's salloc/sbatch options, after pcocc's
	Network   string   // the cluster network, the plugin's --vm=
	Ports     []int    // the templates' guest ports (every VM gets them forwarded)
	Script    string   // -E
	Output    string   // batch: sbatch -o
	Verbose   bool
	Self      string // the pcocc-vm program, the same path on every node
	// Docker: a Docker environment (pcocc docker alloc/batch) whose engine
	// the launcher waits for so long; 0: a plain cluster.
	Docker time.Duration
}

// defaultJobName names pcocc's Slurm jobs when -J does not.
const defaultJobName = "pcocc"

// submitArgv is the salloc (alloc) or sbatch (batch) command line. The
// site's batch-args come first, then pcocc's options, then the user's
// Slurm options, so that where Slurm lets the last one win (-t, -J,
// --distribution...) the user's do; the launcher comes last, after "--"
// (salloc) or in --wrap (sbatch).
func submitArgv(j slurmJob, batch bool) []string {
	prog := "salloc"
	if batch {
		prog = "sbatch"
	}
	a := append([]string{prog}, j.BatchArgs...)
	a = append(a, "-n", strconv.Itoa(j.NVMs), "-c", strconv.Itoa(j.Cores))
	if j.MemMiB > 0 {
		// Slurm counts memory per CPU: round up so that a VM gets at least -m.
		a = append(a, "--mem-per-cpu="+strconv.Itoa((j.MemMiB+j.Cores-1)/j.Cores))
	}
	if j.Partition != "" {
		a = append(a, "-p", j.Partition)
	}
	name := j.Name
	if name == "" {
		name = defaultJobName
	}
	a = append(a, "-J", name)
	if j.Account != "" {
		a = append(a, "-A", j.Account)
	}
	a = append(a, "--distribution=block:block")
	launch := launchArgv(j)
	if !batch {
		a = append(a, j.UserArgs...)
		return append(append(a, "--"), launch...)
	}
	out := j.Output
	if out == "" {
		out = "pcocc-%j.out"
	}
	a = append(append(a, "-o", out), j.UserArgs...)
	return append(a, "--wrap=exec "+formatArgv(launch))
}

// launchArgv is the launcher's command line (pcocc-vm __slurm-launch), run
// in the allocation on its first node.
func launchArgv(j slurmJob) []string {
	a := []string{j.Self, launchCommand, "--network", j.Network}
	if len(j.Ports) > 0 {
		a = append(a, "--ports", vmsetup.FormatPorts(j.Ports))
	}
	if j.Script != "" {
		a = append(a, "-E", j.Script)
	}
	if j.Docker > 0 {
		a = append(a, "--docker", j.Docker.String())
	}
	a = append(a, vmResourceFlags(j)...)
	if j.Verbose {
		a = append(a, "-v")
	}
	return append(a, j.Def)
}

// stepArgv is the step that runs the hypervisors: one task per VM
// (SLURM_PROCID is the VM's index), -K so that one that dies ends the
// others, --vm so that the Slurm plugin sets up the VMs' network, -X so
// that one SIGINT reaches the hypervisors (they clean up; srun's own
// cancel is SIGKILL), -Q for none of srun's notes at the end.
func stepArgv(j slurmJob) []string {
	vmOpt := "--vm=" + j.Network
	if len(j.Ports) > 0 {
		vmOpt += ":" + vmsetup.FormatPorts(j.Ports)
	}
	a := []string{"srun", "-K", "-X", "-Q", vmOpt, "-n", strconv.Itoa(j.NVMs), j.Self, hypervisorCommand}
	if j.Docker > 0 {
		a = append(a, "--docker")
	}
	return append(append(a, vmResourceFlags(j)...), j.Def)
}

// clusterPorts is the union of the VMs' template ports, sorted: under
// Slurm every VM of the cluster gets each one forwarded (the plugin takes
// one list per step).
func clusterPorts(vms []vm.VM) ([]int, error) {
	var ps []int
	for _, v := range vms {
		for _, p := range v.Template.Ports {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
	}
	slices.Sort(ps)
	if len(ps) > vmsetup.MaxExtraPorts {
		return nil, fmt.Errorf("the cluster's templates name %d ports: at most %d under Slurm", len(ps), vmsetup.MaxExtraPorts)
	}
	return ps, nil
}

// vmResourceFlags pass -c and -m on to the launcher and the hypervisors.
func vmResourceFlags(j slurmJob) []string {
	a := []string{"-c", strconv.Itoa(j.Cores)}
	if j.MemMiB > 0 {
		a = append(a, "-m", strconv.Itoa(j.MemMiB))
	}
	return a
}

// hypervisorMemMiB is a VM's memory: -m, else what Slurm gives its task
// (SLURM_MEM_PER_CPU × cores, or SLURM_MEM_PER_NODE shared by the node's
// tasks), else the template's or the default (0).
func hypervisorMemMiB(mem, cores int, getenv func(string) string) int {
	if mem > 0 {
		return mem
	}
	if n, err := strconv.Atoi(getenv("SLURM_MEM_PER_CPU")); err == nil && n > 0 {
		return n * cores
	}
	node, err1 := strconv.Atoi(getenv("SLURM_MEM_PER_NODE"))
	tasks, err2 := strconv.Atoi(getenv("SLURM_NTASKS_PER_NODE"))
	if err1 == nil && err2 == nil && node > 0 && tasks > 0 {
		return node / tasks
	}
	return 0
}

// Internal commands of pcocc-vm under Slurm.
const (
	launchCommand     = "__slurm-launch"
	hypervisorCommand = "__vm-hypervisor"
)

// formatArgv prints a command line as a shell would read it back.
func formatArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, s := range argv {
		if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@%+") == "" {
			q[i] = s
		} else {
			q[i] = vmclient.ShellQuote(s)
		}
	}
	return strings.Join(q, " ")
}

// checkNetworkName is the plugin's rule for --vm=NETWORK, checked here too
// so that a bad name is one line before anything is submitted.
func checkNetworkName(n string) error {
	ok := len(n) >= 1 && len(n) <= 32
	for i, c := range n {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("network %q: a Slurm cluster's network name is a letter then up to 31 letters, digits, _ or -", n)
	}
	return nil
}
