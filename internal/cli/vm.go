//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"os"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// vmProgramName is the program that runs the VM commands (cmd/pcocc-vm). It
// is separate so that pcocc, whose start every container pays, links no VM,
// QMP or SSH code (TestPcoccLinksNoVMCode checks it).
const vmProgramName = "pcocc-vm"

// vmCommands are the commands pcocc hands to pcocc-vm, with their summaries
// (pcocc-vm prints the full help).
var vmCommands = []struct{ name, short string }{
	{"alloc", "Start a cluster of VMs and open a shell on it"},
	{"batch", "Start a cluster of VMs in the background, running a script"},
	{"ps", "List your clusters of VMs"},
	{"cancel", "End a cluster of VMs: a batch, or an alloc of another shell"},
	{"console", "Connect to the serial console of a VM"},
	{"reset", "Reset a VM (as a reset button would)"},
	{"nc", "Connect to a TCP port of a VM"},
	{"ssh", "Run ssh to a VM"},
	{"scp", "Copy files to or from VMs"},
	{"exec", "Run a command in the VMs of a cluster (over ssh)"},
	{"save", "Save the disk of a VM as a new image revision"},
	{"docker", "A Docker engine in a VM for the host's docker CLI (alloc, batch, shell, env, import, export, build)"},
}

// newVMCmds returns the VM commands: each executes pcocc-vm with its
// arguments unparsed, so that pcocc-vm owns their options and help.
func newVMCmds(g *Globals) []*cobra.Command {
	var cmds []*cobra.Command
	for _, c := range vmCommands {
		name := c.name
		cmds = append(cmds, &cobra.Command{
			Use:                name + " [options]",
			Short:              c.short,
			Long:               c.short + ".\n\n'" + g.Name + " " + name + " --help' lists the options; '" + g.Name + " help vms' describes the VM commands.",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return execVM(g, name, args)
			},
		})
	}
	return cmds
}

// execVM replaces pcocc by pcocc-vm NAME ARGS: the terminal, signals and exit
// status are then pcocc-vm's own. argv[0] stays the name pcocc was called
// by, for messages.
func execVM(g *Globals, name string, args []string) error {
	prog, err := libexecProgram(vmProgramName)
	if err != nil {
		return err
	}
	argv := append([]string{g.Name, name}, args...)
	err = syscall.Exec(prog, argv, os.Environ())
	return exitcode.Wrap(exitcode.Failure, fmt.Errorf("%s: %w", prog, err))
}
