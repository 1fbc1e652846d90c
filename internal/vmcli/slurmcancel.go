package vmcli

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/vmrun"
)

// slurmCancel ends the user's Slurm cluster: -j JOBID or -J NAME, found
// among the user's own jobs in squeue (any state: a pending cluster is
// cancelled too). A running batch is first asked to end as its script's
// end would (SIGTERM to its batch step, the launcher: a docker-persist
// engine stops and its data disk is unmounted before the VMs are killed);
// anything else, or a batch still there after wait, is scancel'ed. cancel
// returns once squeue no longer lists the job, so that its nodes' cleanup
// (the plugin's, at the step's end) is done.
func slurmCancel(t target, wait time.Duration) error {
	id, err := slurmCancelID(t)
	if err != nil {
		return err
	}
	sid := strconv.Itoa(id)
	if exec.Command("scancel", "--batch", "-s", "TERM", sid).Run() == nil && waitGone(id, wait) == nil {
		return nil
	}
	if out, err := exec.Command("scancel", sid).CombinedOutput(); err != nil {
		return fmt.Errorf("scancel %d: %s", id, vmrun.FirstLine(out, err))
	}
	return waitGone(id, wait)
}

// waitGone waits, for wait at most, until squeue no longer lists job id.
func waitGone(id int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		ids, err := squeueUser("-j", strconv.Itoa(id))
		if err == nil && len(ids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %d is still in squeue %s after scancel", id, wait)
		}
		time.Sleep(time.Second)
	}
}

// slurmCancelID is the job -j or -J names, if it is one of the user's.
func slurmCancelID(t target) (int, error) {
	if t.id != 0 {
		ids, err := squeueUser("-j", strconv.Itoa(t.id))
		if err != nil || len(ids) == 0 {
			return 0, fmt.Errorf("job %d: no job of yours in Slurm (pcocc ps lists your clusters)", t.id)
		}
		return t.id, nil
	}
	ids, err := squeueUser("-n", t.name)
	if err != nil {
		return 0, err
	}
	switch len(ids) {
	case 0:
		return 0, fmt.Errorf("you have no cluster named %s in Slurm (pcocc ps lists your clusters)", t.name)
	case 1:
		return ids[0], nil
	}
	return 0, usageErr("you have %d clusters named %s: choose one with -j JOBID (pcocc ps lists them)", len(ids), t.name)
}

// squeueUser are the ids of the user's own jobs that squeue lists with
// args. squeue -j of a job it has forgotten fails ("Invalid job id"): no
// job.
func squeueUser(args ...string) ([]int, error) {
	a := append([]string{"-h", "-u", strconv.Itoa(os.Getuid()), "-o", "%i"}, args...)
	var stderr strings.Builder
	cmd := exec.Command("squeue", a...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "Invalid job id") {
			return nil, nil
		}
		return nil, fmt.Errorf("squeue: %s", vmrun.FirstLine([]byte(stderr.String()), err))
	}
	return parseIDs(string(out)), nil
}

// parseIDs are the job ids of squeue's output, one a line; an array or
// heterogeneous job's "1_2" or "3+0" is not a pcocc cluster.
func parseIDs(out string) []int {
	var ids []int
	for _, f := range strings.Fields(out) {
		if id, err := strconv.Atoi(f); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}
