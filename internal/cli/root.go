// Package cli builds the pcocc command tree. Each command fills an options
// struct and calls a domain package; no logic that a test would want to call
// lives here.
package cli

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/resolve"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "0.1.0-dev"

// Globals are the options every command sees.
type Globals struct {
	Verbose bool
	Quiet   bool
	Stdout  io.Writer
	Stderr  io.Writer
	Stdin   io.Reader
	Log     *slog.Logger
	// Name is the name the program was called by (pcocc or pcocc-rs), for
	// message prefixes and hints.
	Name string

	cfg     *config.Config
	repoSet *resolve.Repos // the configured repositories, once loaded
}

// NewRoot returns the root command. argv0 is the name the program was called by
// (pcocc or pcocc-rs: both behave the same).
func NewRoot(argv0 string) *cobra.Command {
	return newRoot(argv0, &Globals{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin})
}

// newRoot builds the command tree on g (tests give their own).
func newRoot(argv0 string, g *Globals) *cobra.Command {
	name := filepath.Base(argv0)
	if name != "pcocc-rs" {
		name = "pcocc"
	}
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

func newLogger(g *Globals) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case g.Quiet:
		level = slog.LevelError
	case g.Verbose:
		level = slog.LevelDebug
	}
	return slog.New(newLineHandler(g.Stderr, level, optName(g.Name, "pcocc")))
}
