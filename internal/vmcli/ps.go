package vmcli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vmjob"
)

func newPsCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "ps",
		Short: "List your running clusters of VMs",
		Args:  exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, args []string) error {
			if b, err := batchManager(newCatalog(e)); err != nil {
				return err
			} else if b.Type == config.BatchSlurm {
				return slurmPs(e, b)
			}
			jobs, err := vmjob.List(e.base)
			if err != nil {
				return err
			}
			printJobs(e, jobs)
			return nil
		},
	}
}

func printJobs(e *env, jobs []*vmjob.Job) {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOBID\tNAME\tKIND\tVMS\tTEMPLATES\tAGE")
	for _, j := range jobs {
		kind := "alloc"
		if j.Batch {
			kind = "batch"
		}
		var tpls []string
		for _, v := range j.VMs {
			if len(tpls) == 0 || tpls[len(tpls)-1] != v.Template {
				tpls = append(tpls, v.Template)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", j.ID, orDash(j.Name), kind, len(j.VMs), orDash(strings.Join(tpls, ",")),
			time.Since(j.Created).Round(time.Second))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
