package cli

import "github.com/spf13/cobra"

func newImageCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Import, list and manage images in repositories",
	}
	return c
}
