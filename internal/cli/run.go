package cli

import "github.com/spf13/cobra"

func newRunCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE|TEMPLATE [CMD [ARGS...]] [-- ARGS...]",
		Short: "Run a command in a container",
	}
	return c
}
