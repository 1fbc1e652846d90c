//go:build !pcocc_launcher

package cli

import "github.com/spf13/cobra"

func newImageCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Import, list and manage images in repositories",
		Long: `Images live in repositories (see 'pcocc help repositories'). An image is
named NAME (searched in every repository, the user's first) or REPO:NAME.
A VM image has revisions: NAME@REV selects one, NAME the newest.`,
	}
	c.AddCommand(
		newImageImportCmd(g),
		newImageListCmd(g),
		newImageShowCmd(g),
		newImageDeleteCmd(g),
		newImageRebuildCmd(g),
		newImageCopyCmd(g),
		newImageExportCmd(g),
		newImageResizeCmd(g),
		newImageRepoCmd(g),
		newImageCacheCmd(g),
	)
	return c
}
