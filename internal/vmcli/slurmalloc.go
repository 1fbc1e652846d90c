package vmcli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vm"
)

// batchManager is batch.yaml's type: config.BatchLocal (no batch.yaml) or
// config.BatchSlurm.
func batchManager(cat *catalog) (config.Batch, error) {
	b, err := cat.cfg.VM().Batch()
	if err != nil {
		return b, exitcode.Wrap(exitcode.Usage, err)
	}
	return b, nil
}

// runSlurm submits the cluster to Slurm: salloc (alloc) or sbatch (batch)
// runs the launcher (__slurm-launch) in the allocation. The definition and
// its templates are checked first: a bad one is one line and nothing is
// submitted. Slurm's messages and exit status are its own (pcocc execs it).
func runSlurm(e *env, o *allocOpts, cat *catalog, b config.Batch, def string, batch bool) error {
	j, err := planSlurmJob(e, o, cat, b, def)
	if err != nil {
		return err
	}
	return submitSlurm(e, o, j, batch)
}

// submitSlurm execs salloc or sbatch for j (with --dry-run: prints their
// command lines).
func submitSlurm(e *env, o *allocOpts, j slurmJob, batch bool) error {
	if batch && o.script == "" {
		return usageErr("batch needs a script: -E SCRIPT")
	}
	argv := submitArgv(j, batch)
	if o.dryRun {
		fmt.Fprintln(e.stdout, formatArgv(argv))
		fmt.Fprintln(e.stdout, formatArgv(stepArgv(j)))
		return nil
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("%s: not found (batch.yaml says type: slurm): %w", argv[0], errors.Unwrap(err))
	}
	if err := checkVMOption(); err != nil {
		return err
	}
	cred, err := etcdCred(filepath.Join(e.getenv("HOME"), ".pcocc"))
	if err != nil {
		return err
	}
	env := append(os.Environ(), etcdCredEnv+"="+cred)
	return syscall.Exec(path, argv, env)
}

// planSlurmJob checks the definition and its templates and gathers what
// submitArgv needs.
func planSlurmJob(e *env, o *allocOpts, cat *catalog, b config.Batch, def string) (slurmJob, error) {
	reqs, err := vm.ParseDef(def)
	if err != nil {
		return slurmJob{}, usageErr("%v", err)
	}
	res, err := o.resources()
	if err != nil {
		return slurmJob{}, err
	}
	// The node's size is Slurm's to check: no NodeCores, NodeMemMiB.
	vms, err := vm.Plan(reqs, cat.Template, vm.Resources{Cores: res.Cores, MemMiB: res.MemMiB}, "")
	if err != nil {
		return slurmJob{}, err
	}
	network, err := cat.networkName(vms)
	if err == nil {
		err = checkNetworkName(network)
	}
	if err != nil {
		return slurmJob{}, exitcode.Wrap(exitcode.Usage, err)
	}
	ports, err := clusterPorts(vms)
	if err != nil {
		return slurmJob{}, usageErr("%v", err)
	}
	self, err := os.Executable()
	if err != nil {
		return slurmJob{}, err
	}
	if err := checkSlurmArgs(o.slurmArgs); err != nil {
		return slurmJob{}, usageErr("%v", err)
	}
	j := slurmJob{Def: def, UserArgs: o.slurmArgs, NVMs: len(vms), Cores: res.Cores, MemMiB: res.MemMiB, Partition: o.partition,
		Name: o.name, Account: o.account, BatchArgs: b.BatchArgs, Network: network, Ports: ports, Script: o.script,
		Output: o.output, Verbose: o.verbose, Self: self}
	for _, v := range vms {
		j.Cores = max(j.Cores, v.Template.Cores)
		j.MemMiB = max(j.MemMiB, v.Template.MemMiB)
	}
	j.Cores = max(j.Cores, vm.DefaultCores)
	return j, nil
}

// checkVMOption: srun knows --vm, the option of the Slurm plugin's VM path
// (plugstack.conf), or the cluster could not start: one line before
// anything is submitted, status noVMPathStatus.
func checkVMOption() error {
	out, err := exec.Command("srun", "--help").Output()
	if err != nil {
		return fmt.Errorf("srun --help: %w", err)
	}
	if !strings.Contains(string(out), "--vm=") {
		return exitcode.Wrap(noVMPathStatus, errors.New("the Slurm plugin's VM network is not installed: srun has no --vm option (plugstack.conf; see pcocc help vms)"))
	}
	return nil
}
