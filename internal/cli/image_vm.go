//go:build !pcocc_launcher

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/vmimage"
)

// isVMFile tells a VM disk file from a container source: a SOURCE with no
// transport, or whose "transport" is not one but the file exists (a path
// with a ':' in it).
func isVMFile(source string, parseErr error) bool {
	if errors.Is(parseErr, imagesrc.ErrNoTransport) {
		return true
	}
	if errors.Is(parseErr, imagesrc.ErrUnknownTransport) {
		_, err := os.Stat(source)
		return err == nil
	}
	return false
}

// importVM imports a disk file as revision 0 of a VM image.
func importVM(ctx context.Context, g *Globals, o importOptions, file, dest string) error {
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		return usageError("SOURCE: %s is a directory: a VM disk is a file; a container source needs a transport (oci:%s for an OCI layout)", file, file)
	}
	if o.format != "" {
		if err := vmimage.CheckFormat(o.format); err != nil {
			return usageError("--fmt: %v", err)
		}
	}
	set, err := g.repos()
	if err != nil {
		return err
	}
	r, name, err := set.Dest(dest)
	if err != nil {
		return err
	}
	v, err := vmimage.Import(ctx, r, name, file, o.format, o.force)
	if err != nil {
		return vmError(err)
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "Successfully imported %s as %s (VM image, %s)\n", file, v.Ref(), humanSize(v.VirtualSize))
	}
	return nil
}

// vmError gives bad sizes and formats the usage status (2).
func vmError(err error) error {
	if errors.Is(err, vmimage.ErrBadSize) || errors.Is(err, vmimage.ErrUnknownFormat) {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return err
}

// findVM finds [REPO:]NAME[@REV] and requires a VM image.
func findVM(g *Globals, ref string) (*vmimage.Revision, error) {
	img, err := g.findImage(ref)
	if err != nil {
		return nil, err
	}
	return vmimage.FromImage(img)
}

func newImageResizeCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "resize [REPO:]NAME[@REV] SIZE",
		Short: "Grow a VM image's disk: a new revision with a larger size",
		Long: `Add a revision to a VM image whose disk is SIZE bytes (suffixes K, M, G, T:
powers of 1024): an empty qcow2 layer over NAME's newest revision (or REV).
The guest grows its partition and file system at boot (cloud-init's growpart),
or by hand. A disk never shrinks.`,
		Example:           "  pcocc image resize myvm 20G",
		Args:              exactArgs(2, "NAME and SIZE"),
		ValidArgsFunction: completeImages(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			size, err := vmimage.ParseSize(args[1])
			if err != nil {
				return usageError("SIZE: %v", err)
			}
			base, err := findVM(g, args[0])
			if err != nil {
				return err
			}
			v, err := vmimage.Resize(c.Context(), base, size)
			if err != nil {
				return vmError(err)
			}
			if !g.Quiet {
				fmt.Fprintf(g.Stdout, "Resized %s to %s: %s\n", base.Ref(), humanSize(size), v.Ref())
			}
			return nil
		},
	}
}

// deleteVM deletes one revision (NAME@REV) or every revision of a VM image.
func deleteVM(img *repo.Image, ref string) (string, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return "", err
	}
	if err := vmimage.Delete(img.Repo, img.Name, r.Revision); err != nil {
		return "", err
	}
	if r.Revision != "" {
		return img.QualifiedName() + "@" + r.Revision, nil
	}
	return img.QualifiedName() + " (all its revisions)", nil
}

// copyVM copies one revision of a VM image as revision 0 of dst:name.
func copyVM(ctx context.Context, g *Globals, src *repo.Image, dst *repo.Repo, name string, force bool) error {
	v, err := vmimage.FromImage(src)
	if err != nil {
		return err
	}
	c, err := vmimage.Copy(ctx, v, dst, name, force)
	if err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "Copied %s to %s\n", v.Ref(), c.Ref())
	}
	return nil
}

// exportVM writes a revision of a VM image as a disk file.
func exportVM(ctx context.Context, g *Globals, img *repo.Image, dest, format string) error {
	if format != "" {
		if err := vmimage.CheckFormat(format); err != nil {
			return usageError("--fmt: %v", err)
		}
	}
	v, err := vmimage.FromImage(img)
	if err != nil {
		return err
	}
	if err := vmimage.Export(ctx, v, dest, format); err != nil {
		return fmt.Errorf("exporting %s: %w", v.Ref(), err)
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "Exported %s to %s\n", v.Ref(), dest)
	}
	return nil
}

// showVMImage prints a VM image and the table of its revisions; the
// selected one (the newest unless NAME@REV) is marked with '*'.
func showVMImage(w io.Writer, img *repo.Image) error {
	m := img.Meta
	kv := func(k string, v any) { fmt.Fprintf(w, "%-12s %s\n", k+":", Printable(fmt.Sprint(v))) }
	kv("Name", img.QualifiedName())
	kv("Repository", fmt.Sprintf("%s (%s)", img.Repo.Name, img.Repo.Path))
	kv("Type", m.Type)
	kv("Source", m.Origin.Source)
	kv("Imported", m.Origin.Date.Local().Format("2006-01-02T15:04:05")+" by "+m.Origin.Owner)
	kv("Disk use", humanSize(imageUsage(img).Total()))
	if m.VM == nil {
		return nil
	}
	const format = "%-1s %-4v %-6v %10s %10s  %-19s %-12s %s"
	row := func(a ...any) { fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf(format, a...), " ")) }
	fmt.Fprintln(w, "Revisions:")
	row("", "Rev", "Layers", "Disk size", "Layer size", "Date", "Owner", "Source")
	for _, rv := range m.VM.Revisions {
		mark := ""
		if fmt.Sprint(rv.Rev) == img.Revision {
			mark = "*"
		}
		row(mark, rv.Rev, len(rv.Layers), humanSize(rv.VirtualSize), humanSize(topSize(img.Repo, rv)),
			rv.Date.Local().Format("2006-01-02T15:04:05"), Printable(rv.Owner), Printable(rv.Source))
	}
	return nil
}

// topSize is what a revision's own layer takes on disk.
func topSize(r *repo.Repo, rv imagemeta.VMRevision) int64 {
	p, err := r.BlobPath(rv.Layers[len(rv.Layers)-1])
	if err != nil {
		return 0
	}
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}
