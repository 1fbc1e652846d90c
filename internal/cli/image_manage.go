//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

func newImageDeleteCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:               "delete [REPO:]NAME[@REV]...",
		Aliases:           []string{"rm"},
		Short:             "Delete images, or one revision of a VM image (NAME@REV)",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeImages(g, -1),
		RunE: func(c *cobra.Command, args []string) error {
			set, err := g.repos()
			if err != nil {
				return err
			}
			for _, a := range args {
				img, err := set.Find(a)
				if err != nil {
					return err
				}
				what := img.QualifiedName()
				if img.Meta.Type == imagemeta.TypeVM {
					what, err = deleteVM(img, a)
				} else {
					err = img.Repo.Delete(img.Name)
				}
				if err != nil {
					return err
				}
				if !g.Quiet {
					fmt.Fprintf(g.Stdout, "Deleted %s\n", what)
				}
			}
			return nil
		},
	}
}

func newImageCopyCmd(g *Globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:               "copy [REPO:]NAME[@REV] [REPO:]NAME",
		Aliases:           []string{"cp"},
		Short:             "Copy an image within a repository or to another one",
		Args:              exactArgs(2, "a source and a destination image name"),
		ValidArgsFunction: positional(completeImages(g, -1), completeRepoPrefix(g)),
		RunE: func(c *cobra.Command, args []string) error {
			set, err := g.repos()
			if err != nil {
				return err
			}
			src, err := set.Find(args[0])
			if err != nil {
				return err
			}
			dst, name, err := set.Dest(args[1])
			if err != nil {
				return err
			}
			if src.Meta.Type == imagemeta.TypeVM {
				return copyVM(c.Context(), g, src, dst, name, force)
			}
			if err := dst.Copy(src, name, force, set.Def(dst.Name).DropLayers); err != nil {
				return err
			}
			if !g.Quiet {
				fmt.Fprintf(g.Stdout, "Copied %s to %s\n", src.QualifiedName(), qualified(dst, name))
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&force, "force", "f", false, "replace an existing image of that name")
	return c
}

func newImageRepoCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{Use: "repo", Short: "List and clean image repositories"}
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the configured repositories, in search order",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			set, err := g.repos()
			if err != nil {
				return err
			}
			// The shape of image list's table: 2 header and 2 footer lines.
			const format = "%-16s %-4s %10s  %-40s %s"
			row := func(a ...any) { fmt.Fprintln(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " ")) }
			line := strings.Repeat("=", 78)
			row("Name", "Mode", "Size", "Path", "Description")
			fmt.Fprintln(g.Stdout, line)
			for _, n := range set.Names() {
				d, mode, size := set.Def(n), "rw", "-"
				if r, err := set.Get(n); err != nil {
					mode = "n/a"
					set.Skip(n, err)
				} else {
					if r.ReadOnly {
						mode = "ro"
					}
					size = repoSize(g, r)
				}
				row(d.Name, mode, size, Printable(d.Path), Printable(d.Description))
			}
			fmt.Fprintln(g.Stdout, line)
			if len(set.Names()) == 1 {
				fmt.Fprintln(g.Stdout, "1 repository")
			} else {
				fmt.Fprintf(g.Stdout, "%d repositories\n", len(set.Names()))
			}
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:               "gc [REPO]",
		Short:             "Remove unused blobs and the leftovers of interrupted commands",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: onlyFirst(completeRepos(g)),
		RunE: func(c *cobra.Command, args []string) error {
			name := userRepoOr(args)
			set, err := g.repos()
			if err != nil {
				return err
			}
			r, err := set.Get(name)
			if err != nil {
				return err
			}
			rep, err := r.Clean()
			if err != nil {
				return err
			}
			if !g.Quiet {
				fmt.Fprintf(g.Stdout, "Repository %s: removed %d unused blobs, %d unused image versions, %d temporary directories (%s)\n",
					r.Name, rep.Blobs, rep.StoreDirs, rep.TmpDirs, humanSize(rep.BytesFreed))
			}
			return nil
		},
	})
	return c
}

// repoSize is what the images of a repository take on disk, each shared
// blob counted once; "-" when it cannot be listed (warned about).
func repoSize(g *Globals, r *repo.Repo) string {
	imgs, err := r.List()
	if err != nil {
		g.Log.Warn(err.Error())
		return "-"
	}
	_, total := repo.DiskUsage(imgs)
	return humanSize(total)
}
