//go:build !pcocc_launcher

// Package cli builds the pcocc command tree. Each command fills an options
// struct and calls a domain package; no logic that a test would want to call
// lives here.
package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// NewRoot returns the root command. argv0 is the name the program was called by
// (pcocc or pcocc-rs: both behave the same).
func NewRoot(argv0 string) *cobra.Command {
	return newRoot(argv0, &Globals{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin})
}

// newRoot builds the command tree on g (tests give their own).
func newRoot(argv0 string, g *Globals) *cobra.Command {
	name := progName(argv0)
	g.Name = name
	root := &cobra.Command{
		Use:           name,
		Short:         "Run HPC containers without root",
		Long:          rootLong,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			g.Log = newLogger(g)
			if cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd {
				completeOptionsAnywhere(cmd.Root())
			}
		},
	}
	root.SetVersionTemplate("{{.Name}} version {{.Version}}\n")
	root.PersistentFlags().BoolVarP(&g.Verbose, "verbose", "v", false, "explain what is being done")
	root.PersistentFlags().BoolVarP(&g.Quiet, "quiet", "q", false, "print only errors")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, c.CommandPath())
	})
	addCommands(root, g)
	return root
}

const rootLong = `pcocc imports container images (docker-archive, OCI, SIF, ...) into image
repositories stored as squashfs, and runs them as the calling user, on a login
node or in Slurm jobs, with the site's storage, GPU and MPI set-up applied
through modules. It also keeps VM disk images in the same repositories and
starts clusters of VMs on one node (alloc, batch), with a private network.`

// Main runs the command line argv and returns the exit status: the full
// program's (pcocc-cli; the launcher's is in launcher.go).
func Main(argv []string) int {
	if code, ok := RunInternal(argv); ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot(argv[0])
	return report(root.Name(), root.ExecuteContext(ctx))
}
