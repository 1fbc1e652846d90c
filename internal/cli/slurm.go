//go:build !pcocc_launcher

package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/slurm"
)

func newSpankCmd(g *Globals) *cobra.Command { return spankCommand(g, runSpank) }

// spankCommand is the __spank command calling run (runSpank; tests compare
// the launcher's parser with what this one passes).
func spankCommand(g *Globals, run func(context.Context, *Globals, string, *slurm.Options) error) *cobra.Command {
	o := &slurm.Options{}
	c := &cobra.Command{Use: "__spank", Hidden: true, Short: "Helper of the Slurm SPANK plugin"}
	check := &cobra.Command{
		Use: "check", Short: "Check the --ctr options before a job or step is submitted", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), g, "check", o) },
	}
	start := &cobra.Command{
		Use: "start", Short: "Set up this node's container of a step and hold it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), g, "start", o) },
	}
	for _, sub := range []*cobra.Command{check, start} {
		f := sub.Flags()
		f.StringVar(&o.Image, "ctr", "", "image or template")
		f.StringVar(&o.Mounts, "ctr-mount", "", "mount specs, ':' separated")
		f.StringVar(&o.Modules, "ctr-module", "", "modules, ',' separated")
		f.StringVar(&o.Env, "ctr-env", "", "env specs, ',' separated")
		f.BoolVar(&o.NoDefaults, "ctr-no-defaults", false, "do not apply default modules")
		f.StringVar(&o.Workdir, "ctr-workdir", "", "working directory in the container")
		c.AddCommand(sub)
	}
	return c
}

// spankSource refuses a transport reference (errSpankSource).
func spankSource(cfg *config.Config, image string) error {
	if ref, ok := sourceRef(cfg, image); ok {
		return errSpankSource(image, ref)
	}
	return nil
}

// errSpankSource refuses a transport reference: the helper would import it
// at the start of the step, on every node at once, with no terminal to show
// progress and under Slurm's launch timeouts. Importing it before the job
// costs one command.
func errSpankSource(src string, ref imagesrc.Ref) error {
	name := ref.Path // a file or directory; docker://, docker-daemon: have a name
	if name == "" {
		name = ref.Ref
	}
	name = importName(name)
	return fmt.Errorf("--ctr=%s: srun runs imported images only: import it before the job ('pcocc image import %s %s'), then use --ctr=%s",
		src, src, name, name)
}
