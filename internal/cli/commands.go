//go:build !pcocc_launcher

package cli

import (
	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/runtime"
	"github.com/pcocc/pcocc/internal/sqfuse"
)

// addCommands gives the full program all of pcocc's commands. The launcher
// (built with the tag pcocc_launcher: launcher.go) has only run, and hands
// every other command to this program.
func addCommands(root *cobra.Command, g *Globals) {
	root.AddCommand(
		newImageCmd(g),
		newRunCmd(g),
		newModuleCmd(g),
		newTemplateCmd(g),
		newCheckCmd(g),
		newCompletionCmd(g),
		newHelpCmd(root),
		newManCmd(g),
		newSpankCmd(g),
	)
	root.AddCommand(newVMCmds(g)...)
	strictGroups(root)
}

// imageWork serves and unpacks images in this process.
func imageWork() runtime.Images { return sqfuse.InProcess{} }

// sqfuseProgram serves init's own squashfs mounts: this program ("").
func sqfuseProgram() string { return "" }
