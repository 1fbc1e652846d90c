//go:build !pcocc_launcher

package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// strictGroups makes every command that only groups subcommands (image,
// image repo, module, template, ...) reject an unknown subcommand with a
// usage error (status 2) and cobra's "did you mean" suggestions. Cobra's
// default prints the group's help and exits 0, so that `pcocc image lst`
// looks like it worked. A group alone still prints its help.
func strictGroups(c *cobra.Command) {
	for _, sub := range c.Commands() {
		strictGroups(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = unknownSubcommand
	c.SuggestionsMinimumDistance = 2 // cobra sets it only for the root
	c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
}

func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := "unknown command \"" + args[0] + "\" for \"" + c.CommandPath() + "\""
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + alternatives(s) + "?"
	}
	return usageError("%s (see '%s --help')", msg, c.CommandPath())
}

// alternatives quotes words, joined with "or".
func alternatives(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "\"" + w + "\""
	}
	return strings.Join(q, " or ")
}
