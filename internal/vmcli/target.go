package vmcli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// target is the -j JOBID / -J NAME choice of a cluster.
type target struct {
	id     int
	name   string
	onNode bool // hidden --on-node: run on a Slurm VM's node, by runOnNode
}

func (t *target) flags(c *cobra.Command) {
	c.Flags().IntVarP(&t.id, "jobid", "j", 0, "the cluster's job id (default: the cluster of this shell, or your only one)")
	c.Flags().StringVarP(&t.name, "jobname", "J", "", "the cluster's job name")
	c.Flags().BoolVar(&t.onNode, onNodeFlag, false, "")
	c.Flags().MarkHidden(onNodeFlag)
}

// job finds the targeted cluster: -j, -J, the shell's $PCOCC_JOB_ID, or the
// user's only running cluster.
func (t *target) job(e *env) (*vmjob.Job, error) {
	if b, err := batchManager(newCatalog(e)); err != nil {
		return nil, err
	} else if b.Type == config.BatchSlurm {
		return t.slurmJob(e, b)
	}
	switch {
	case t.id != 0:
		return vmjob.Find(e.base, t.id)
	case t.name != "":
		return vmjob.FindName(e.base, t.name)
	}
	if s := e.getenv("PCOCC_JOB_ID"); s != "" {
		id, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("PCOCC_JOB_ID=%q is not a job id", s)
		}
		return vmjob.Find(e.base, id)
	}
	jobs, err := vmjob.List(e.base)
	if err != nil {
		return nil, err
	}
	switch len(jobs) {
	case 0:
		return nil, fmt.Errorf("you have no running cluster of VMs (start one with pcocc alloc)")
	case 1:
		return jobs[0], nil
	}
	return nil, usageErr("you have %d running clusters: choose one with -j JOBID or -J NAME (pcocc ps lists them)", len(jobs))
}
