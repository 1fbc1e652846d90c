//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/helptext"
)

// newHelpCmd replaces cobra's help command with one that also knows the
// help topics of internal/helptext, and lists those topics at the end of
// the root's usage. It must be given the root: it sets itself as the root's
// help command, so that cobra does not add its own beside it.
func newHelpCmd(root *cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   "help [TOPIC | COMMAND...]",
		Short: "Show help on a topic or a command",
		Long: `Show the help of a command (pcocc help image import) or a help topic:
` + topicList("  ") + `
The topics are also man pages: pcocc-containers.yaml(5),
pcocc-repositories.yaml(5), pcocc-templates.yaml(5), pcocc-slurm(7),
pcocc-environment(7).`,
		Example: `  pcocc help modules
  pcocc help image list`,
		ValidArgsFunction: completeHelp,
		RunE: func(c *cobra.Command, args []string) error {
			return runHelp(c, args)
		},
	}
	root.SetHelpCommand(c)
	root.SetUsageTemplate(root.UsageTemplate() + rootTopicsTemplate)
	return c
}

// rootTopicsTemplate is appended to the usage of the root command only;
// the list is made when the usage is printed, not at every start.
const rootTopicsTemplate = `{{if not .HasParent}}
Help topics (` + "`{{.Name}} help TOPIC`" + `):
{{pcoccTopicList}}{{end}}`

func init() { cobra.AddTemplateFunc("pcoccTopicList", func() string { return topicList("  ") }) }

func topicList(indent string) string {
	var b strings.Builder
	for _, t := range helptext.Topics() {
		fmt.Fprintf(&b, "%s%-13s %s\n", indent, t.Name, t.Summary)
	}
	return b.String()
}

func runHelp(c *cobra.Command, args []string) error {
	root := c.Root()
	if len(args) == 0 {
		return root.Help()
	}
	if t, found := helptext.Lookup(args[0]); found && len(args) == 1 {
		_, err := fmt.Fprint(c.OutOrStdout(), t.Text())
		return err
	}
	cmd, rest, err := root.Find(args)
	if err != nil || len(rest) > 0 || cmd == root {
		return usageError("no help topic or command %q (topics: %s; commands: see '%s --help')",
			strings.Join(args, " "), strings.Join(helptext.Names(), ", "), root.Name())
	}
	return cmd.Help()
}

// completeHelp completes a topic or a command name after "help", then the
// subcommands of the command named so far.
func completeHelp(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	parent := c.Root()
	if len(args) == 0 {
		for _, t := range helptext.Topics() {
			out = append(out, cobra.CompletionWithDesc(t.Name, t.Summary))
		}
	} else if cmd, rest, err := parent.Find(args); err == nil && len(rest) == 0 {
		parent = cmd
	} else {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	for _, sub := range parent.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
		}
	}
	return filterPrefix(out, toComplete), cobra.ShellCompDirectiveNoFileComp
}
