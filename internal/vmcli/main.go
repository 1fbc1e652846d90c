// Package vmcli is the command line of pcocc-vm, the program that runs
// pcocc's VM commands: alloc, batch, ps, console, reset, nc, ssh, scp, exec
// and save. pcocc executes it with argv[0] set to its own name.
package vmcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmnet"
	"github.com/pcocc/pcocc/internal/vmrun"
	"github.com/pcocc/pcocc/internal/vmsetup"
)

func usageErr(format string, args ...any) error {
	return exitcode.Wrap(exitcode.Usage, fmt.Errorf(format, args...))
}

// env is what every command sees.
type env struct {
	name           string // pcocc or pcocc-rs
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	base           string // the user's job directories
	start          time.Time
	verbose        bool // alloc -v: tracef prints
	exits          []func()
}

// atExit runs f when the command is done.
func (e *env) atExit(f func()) { e.exits = append(e.exits, f) }

// tracef says, with -v, that a step is done and when (since the start).
func (e *env) tracef(format string, args ...any) {
	if e.verbose {
		fmt.Fprintf(e.stderr, "%s: +%.3fs %s\n", e.name, time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// Main runs pcocc-vm with argv and returns the exit status.
func Main(argv []string) int {
	if len(argv) == 3 && argv[1] == vmrun.ReaperArg {
		return vmrun.Reap(argv[2], os.Stdin)
	}
	if len(argv) >= 2 && argv[1] == vmsetup.Command {
		return vmsetup.Main(argv[2:], os.Stdin, os.Stderr)
	}
	if len(argv) >= 2 && argv[1] == vmnet.HolderCommand {
		return vmnet.HolderMain()
	}
	name := filepath.Base(argv[0])
	if name != "pcocc-rs" {
		name = "pcocc"
	}
	e := &env{start: time.Now(), name: name, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv,
		base: vmjob.BaseDir(os.Getenv)}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	root := newRoot(e)
	root.SetArgs(argv[1:])
	err := root.ExecuteContext(ctx)
	for _, f := range e.exits {
		f()
	}
	var ee *exitcode.Error
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(e.stderr, "%s: %s\n", name, err)
	}
	return exitcode.Of(err)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           e.name,
		Short:         "pcocc's virtual machine commands",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see '%s --help')", err, c.CommandPath())
	})
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(newAllocCmd(e, false), newAllocCmd(e, true), newPsCmd(e), newConsoleCmd(e), newResetCmd(e),
		newNcCmd(e), newSSHCmd(e), newSCPCmd(e), newExecCmd(e), newSaveCmd(e), newDockerCmd(e), newCancelCmd(e),
		newLaunchCmd(e), newHypervisorCmd(e), newForwardCmd(e))
	root.Args = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErr("unknown command %q for %q", args[0], e.name)
		}
		return nil
	}
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s: expected %s (see '%s --help')", c.CommandPath(), what, c.CommandPath())
		}
		return nil
	}
}
