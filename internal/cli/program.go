//go:build !pcocc_launcher

package cli

import (
	"github.com/spf13/cobra"
)

// The command line of a command that runs a program (run, and later any
// other): pcocc's options may stand before or after the target (image or
// template), but parsing stops at the program's first word, as docker,
// podman and apptainer users expect: in `pcocc run img ls -l /etc`, -l is
// the program's, and so is -v in `pcocc run img ls -v`.
//
// cobra parses up to the target (the command sets SetInterspersed(false));
// splitProgram parses the options between the target and the program with
// the same flag set, so that each option has one definition.

// programAnnotation marks the commands that programCommand set up.
const programAnnotation = "pcocc-program"

// programCommand sets c up for splitProgram.
func programCommand(c *cobra.Command) {
	c.Flags().SetInterspersed(false)
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[programAnnotation] = "true"
}

// completeOptionsAnywhere lets shell completion offer pcocc's options after
// the target too: cobra completes no option once a non-interspersed
// command has an argument, and completion never runs the command, so
// splitProgram's second pass does not apply. It is called before cobra's
// completion command runs.
func completeOptionsAnywhere(c *cobra.Command) {
	for _, sub := range c.Commands() {
		completeOptionsAnywhere(sub)
	}
	if c.Annotations[programAnnotation] != "" {
		c.Flags().SetInterspersed(true)
	}
}

// splitProgram returns the target and the program's words of args, the
// positional arguments cobra left, after parsing the options that follow
// the target. A '--' before the program ends pcocc's options; one after the
// program's first word is the program's.
func splitProgram(c *cobra.Command, args []string) (target string, program []string, err error) {
	target, rest := args[0], args[1:]
	if c.ArgsLenAtDash() == 0 {
		// "pcocc run -- img ...": every word after '--' is positional.
		return target, rest, nil
	}
	f := c.Flags()
	if err := f.Parse(rest); err != nil {
		return "", nil, c.FlagErrorFunc()(c, err)
	}
	return target, f.Args(), nil
}

// helpAsked reports whether -h/--help stood among the options that
// splitProgram parsed (cobra only sees the ones before the target).
func helpAsked(c *cobra.Command) bool {
	h, err := c.Flags().GetBool("help")
	return err == nil && h
}

// exactArgs is cobra.ExactArgs with our usage error (exit status 2).
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s: expected %s (see '%s --help')", c.CommandPath(), names, c.CommandPath())
		}
		return nil
	}
}
