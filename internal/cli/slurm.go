//go:build !pcocc_launcher

package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/runtime"
	"github.com/pcocc/pcocc/internal/slurm"
	"github.com/pcocc/pcocc/internal/sqfuse"
)

func newSpankCmd(g *Globals) *cobra.Command { return spankCommand(g, runSpank) }

// spankCommand is the __spank command calling run (runSpank; tests compare
// the launcher's parser with what this one passes).
func spankCommand(g *Globals, run func(context.Context, *Globals, string, *slurm.Options) error) *cobra.Command {
	o := &slurm.Options{}
	c := &cobra.Command{Use: "__spank", Hidden: true, Short: "Helper of the Slurm SPANK plugin"}
	check := &cobra.Command{
		Use: "check", Short: "Check the --ctr options before a job or step is submitted", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), g, "check", o) },
	}
	start := &cobra.Command{
		Use: "start", Short: "Set up this node's container of a step and hold it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), g, "start", o) },
	}
	// image runs in this program only: the launcher hands it over.
	image := &cobra.Command{
		Use: "image", Short: "Open and check the image for the plugin's kernel mount, as the user", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitcode.Wrap(exitcode.Setup, imageSpank(cmd.Context(), g, o))
		},
	}
	start.Flags().StringVar(&o.KernelTree, "kernel-tree", "", "the image, mounted here by the plugin")
	for _, sub := range []*cobra.Command{check, image, start} {
		f := sub.Flags()
		f.StringVar(&o.Image, "ctr", "", "image or template")
		f.StringVar(&o.Mounts, "ctr-mount", "", "mount specs, ':' separated")
		f.StringVar(&o.Modules, "ctr-module", "", "modules, ',' separated")
		f.StringVar(&o.Env, "ctr-env", "", "env specs, ',' separated")
		f.BoolVar(&o.NoDefaults, "ctr-no-defaults", false, "do not apply default modules")
		f.StringVar(&o.Workdir, "ctr-workdir", "", "working directory in the container")
		c.AddCommand(sub)
	}
	return c
}

// spankSource refuses a transport reference (errSpankSource).
func spankSource(cfg *config.Config, image string) error {
	if ref, ok := sourceRef(cfg, image); ok {
		return errSpankSource(image, ref)
	}
	return nil
}

// errSpankSource refuses a transport reference: the helper would import it
// at the start of the step, on every node at once, with no terminal to show
// progress and under Slurm's launch timeouts. Importing it before the job
// costs one command.
func errSpankSource(src string, ref imagesrc.Ref) error {
	name := ref.Path // a file or directory; docker://, docker-daemon: have a name
	if name == "" {
		name = ref.Ref
	}
	name = importName(name)
	return fmt.Errorf("--ctr=%s: srun runs imported images only: import it before the job ('pcocc image import %s %s'), then use --ctr=%s",
		src, src, name, name)
}

// imageSpank answers the plugin's question before `start`: may it mount
// the image with the kernel's squashfs? If the mount policy says so, it
// opens the image as the user and checks it with pcocc's reader
// (sqfuse.OpenForKernel), and sends "kernel" with the descriptor on fd 3
// (a socket); else "no". The plugin checks the descriptor again as root,
// and never opens a path itself (spank/kernel.c).
func imageSpank(ctx context.Context, g *Globals, o *slurm.Options) error {
	sock, err := spankFile(spankResultFD, "image")
	if err != nil {
		return err
	}
	defer sock.Close()
	spec, err := spankImage(ctx, g, o)
	if err != nil {
		return err
	}
	choice, err := runtime.ChooseSlurmMount(spec)
	if err != nil {
		return fmt.Errorf("--ctr=%s: %w", o.Image, err)
	}
	g.Log.Info(choice.String())
	if choice.Mode != "kernel" {
		return unix.Sendmsg(int(sock.Fd()), []byte("no"), nil, nil, 0)
	}
	f, err := sqfuse.OpenForKernel(spec.Rootfs)
	if err != nil {
		return fmt.Errorf("--ctr=%s: image %q: %w", o.Image, spec.Image, err)
	}
	defer f.Close()
	if err := unix.Sendmsg(int(sock.Fd()), []byte("kernel"), unix.UnixRights(int(f.Fd())), nil, 0); err != nil {
		return fmt.Errorf("sending the image to the plugin: %w", err)
	}
	return nil
}

// spankImage is the part of the step's plan that the image's mount
// depends on: the image (through its template, if any) and its
// repository's setting. Not the modules: their generators run once, in
// `start`.
func spankImage(ctx context.Context, g *Globals, o *slurm.Options) (*container.Spec, error) {
	if err := spankSource(g.config(), o.Image); err != nil {
		return nil, err
	}
	t, err := g.resolver().Target(ctx, o.Image)
	if err != nil {
		return nil, fmt.Errorf("--ctr=%s: %w", o.Image, err)
	}
	return &container.Spec{Image: t.Image.Ref, Rootfs: t.Image.Squashfs, HostRoot: t.Image.HostRoot, RepoMount: t.Image.Mount}, nil
}
