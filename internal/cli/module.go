//go:build !pcocc_launcher

package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/modules/nvidia"
)

func newModuleCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "module",
		Short: "List container modules",
		Long: `A module is a named set of host mounts and environment entries, applied
with 'pcocc run -M NAME' or to every container when it is a default module.
Modules are defined under "modules:" in containers.yaml (see 'pcocc help modules').`,
	}
	c.AddCommand(newModuleListCmd(g), newModuleGenerateCmd(g))
	return c
}

func newModuleListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List container modules",
		Long: `List every module: name, whether it is a default module (applied unless
--no-defaults), description, and the file that defines it.`,
		Example: `  pcocc module list
  pcocc run -M my_module my_image -- cmd      # apply one
  pcocc run --no-defaults my_image -- cmd     # without the default modules`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, args []string) error {
			return runModuleList(g)
		},
	}
}

func runModuleList(g *Globals) error {
	mods, err := g.config().Modules()
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	g.warnOthers(config.KindContainers)
	const format = "%-24s %-8s %s\n"
	row := func(a ...any) { fmt.Fprint(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " \n")+"\n") }
	row("Name", "Default", "Description")
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	defaults := 0
	for _, m := range mods {
		def := "no"
		if m.Default {
			def, defaults = "yes", defaults+1
		}
		row(m.Name, def, m.Description)
		fmt.Fprintf(g.Stdout, "%-24s %-8s defined at %s\n", "", "", m.Source)
	}
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	fmt.Fprintf(g.Stdout, "%s, %d default (applied unless --no-defaults)\n", plural(len(mods), "module"), defaults)
	return nil
}

// newModuleGenerateCmd holds pcocc's own generators, for site modules to
// name ("generator: pcocc module generate nvidia"). Hidden: users run the
// module, not its generator; admins find it in docs/admin-guide.md.
func newModuleGenerateCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:    "generate GENERATOR",
		Short:  "Print the mounts and env of a built-in module generator",
		Hidden: true,
		Args:   exactArgs(1, "a generator name (nvidia)"),
	}
	var root string
	var optional bool
	nv := &cobra.Command{
		Use:   "nvidia [--root DIR] [--optional]",
		Short: "The host NVIDIA driver's libraries and tools",
		Long: `Find the loaded NVIDIA driver's libraries (ldconfig cache), tools and device
nodes, and print them as generator output. --root (or $PCOCC_NVIDIA_ROOT)
looks in a driver tree other than "/". Without a driver it fails, unless
--optional: then it prints nothing to mount.`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, args []string) error {
			return runGenerateNvidia(g, root, optional)
		},
	}
	nv.Flags().StringVar(&root, "root", "", "driver root (default $PCOCC_NVIDIA_ROOT, else /)")
	nv.Flags().BoolVar(&optional, "optional", false, "print nothing, and succeed, where there is no driver")
	c.AddCommand(nv)
	return c
}

func runGenerateNvidia(g *Globals, root string, optional bool) error {
	if root == "" {
		root = os.Getenv("PCOCC_NVIDIA_ROOT")
	}
	d, err := nvidia.Find(nvidia.Options{Root: root, LDCache: nvidia.SystemLDCache})
	if optional && errors.Is(err, nvidia.ErrNoDriver) {
		_, err = fmt.Fprintf(g.Stdout, "# %v: nothing to mount\n", err)
		return err
	}
	if err != nil {
		return err
	}
	return d.Write(g.Stdout)
}
