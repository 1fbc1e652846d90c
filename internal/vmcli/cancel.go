package vmcli

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// cancelWait bounds how long cancel waits for the job's teardown: a
// docker-persist environment first stops its engine and unmounts its data
// disk over ssh (up to 3 minutes, dockerHooks.flush).
const cancelWait = 5 * time.Minute

func newCancelCmd(e *env) *cobra.Command {
	var tg target
	c := &cobra.Command{
		Use:   "cancel -j JOBID|-J NAME",
		Short: "End a cluster of VMs: a batch, or an alloc of another shell",
		Long: `End a running cluster as leaving its shell would (SIGTERM to the process
that runs the job: the script or shell is hung up, a docker-persist engine
stops and unmounts its data disk, every VM is killed, the job directory
removed), and wait until it has ended. A batch, pcocc docker batch
included, is ended this way; pcocc ps lists the job ids.

Under Slurm (batch.yaml type: slurm) cancel ends your job given by -j or
-J: a running batch gets SIGTERM in its batch step, which ends it as the
end of its script would (a docker-persist engine flushed first); anything
else, or a batch still there after 5 minutes, is scancel'ed. cancel waits
until Slurm no longer lists the job (the nodes' taps, bridges and rules
are then removed).`,
		Args: exactArgs(0, "no arguments, the cluster given by -j or -J"),
		RunE: func(c *cobra.Command, args []string) error {
			if tg.id == 0 && tg.name == "" {
				return usageErr("cancel: which cluster? -j JOBID or -J NAME (pcocc ps lists yours)")
			}
			if b, err := batchManager(newCatalog(e)); err != nil {
				return err
			} else if b.Type == config.BatchSlurm {
				return slurmCancel(tg, cancelWait)
			}
			job, err := tg.job(e)
			if err != nil {
				return err
			}
			return cancelJob(job, cancelWait)
		},
	}
	tg.flags(c)
	return c
}

// cancelJob sends SIGTERM to the job's process and waits until the job no
// longer holds its lock. Only a live job is found (its process or the
// reaper it started holds the lock), and kill(2) reaches only the user's
// own processes.
func cancelJob(job *vmjob.Job, wait time.Duration) error {
	if err := syscall.Kill(job.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("job %d (process %d): %w", job.ID, job.Pid, err)
	}
	deadline := time.Now().Add(wait)
	for {
		if _, live, err := vmjob.Load(job.Dir); err != nil || !live {
			return nil // ended: released, or its directory removed
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %d has not ended %s after SIGTERM to its process %d (pcocc ps lists it while it runs)", job.ID, wait, job.Pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
