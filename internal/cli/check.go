//go:build !pcocc_launcher

package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/check"
	"github.com/pcocc/pcocc/internal/exitcode"
)

// The namespace probe of `pcocc check` re-executes pcocc; register its
// hidden entry point (see internal.go).
func init() { internalEntries[check.ProbeVerb] = check.ProbeMain }

func newCheckCmd(g *Globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "check [--format text|json]",
		Short: "Check that this host and your account can run containers",
		Long: `Check, for the calling user, everything a container launch needs: user
namespaces, /dev/fuse, the kernel version and file systems, the external
programs (tar2sqfs, squashfuse_ll, fusermount3, newuidmap), the configuration
files, the image repositories, and the Slurm plugin (srun --ctr).

Each item is printed on one line as ok, warning or error; an item that is
not ok says how to fix it (the Debian package to install, the sysctl to set,
the permission to change). The exit status is 1 when an item is an error,
0 otherwise (warnings included).`,
		Example: `  pcocc check
  pcocc check --format json | jq '.[] | select(.status != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return runCheck(c, g, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func runCheck(c *cobra.Command, g *Globals, format string) error {
	if format != "text" && format != "json" {
		return usageError("--format: %q is not text or json", format)
	}
	rs := check.Run(c.Context(), check.System(g.config(), os.Getenv))
	for i := range rs {
		rs[i].Detail, rs[i].Fix = CalledAs(g.Name, rs[i].Detail), CalledAs(g.Name, rs[i].Fix)
	}
	write := check.WriteText
	if format == "json" {
		write = check.WriteJSON
	}
	if err := write(g.Stdout, rs); err != nil {
		return err
	}
	if check.Failed(rs) {
		return exitcode.Silent(exitcode.Failure) // the lines above said why
	}
	return nil
}
