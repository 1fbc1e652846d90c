package cli

import (
	"fmt"
	"os"
	"path/filepath"
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
	prog, err := vmProgram()
	if err != nil {
		return err
	}
	argv := append([]string{g.Name, name}, args...)
	err = syscall.Exec(prog, argv, os.Environ())
	return exitcode.Wrap(exitcode.Failure, fmt.Errorf("%s: %w", prog, err))
}

// vmProgram finds pcocc-vm next to pcocc, then in ../libexec/pcocc, as the
// container init is found.
func vmProgram() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Failure, fmt.Errorf("cannot find %s: %w", vmProgramName, err))
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{
		filepath.Join(dir, vmProgramName),
		filepath.Join(dir, "..", "libexec", "pcocc", vmProgramName),
	} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exitcode.Wrap(exitcode.Failure, fmt.Errorf("%s is not installed next to %s nor in %s: VM commands need it (make install puts it there)",
		vmProgramName, exe, filepath.Join(dir, "..", "libexec", "pcocc")))
}
