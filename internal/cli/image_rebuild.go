//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/importer"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/transport"
	"github.com/pcocc/pcocc/internal/vmimage"
)

func newImageRebuildCmd(g *Globals) *cobra.Command {
	var compress string
	c := &cobra.Command{
		Use:               "rebuild [REPO:]NAME",
		Short:             "Rebuild an image's squashfs from its stored layers",
		Args:              exactArgs(1, "one image name"),
		ValidArgsFunction: completeImages(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkCompression(g, compress); err != nil {
				return err
			}
			img, err := g.findImage(args[0])
			if err != nil {
				return err
			}
			if img.Meta.Type == imagemeta.TypeVM {
				return fmt.Errorf("cannot rebuild %s: it is a VM image (a qcow2 chain), which has no squashfs", img.QualifiedName())
			}
			if len(img.Meta.Layers) == 0 && img.Meta.ConfigDigest == "" {
				return fmt.Errorf("cannot rebuild %s: it has no layers (imported from %q, whose squashfs was kept as it is): import it again",
					img.QualifiedName(), img.Meta.Origin.Source)
			}
			if err := checkLayersKept(img, "rebuild"); err != nil {
				return err
			}
			tx, err := img.Repo.BeginRebuild(img)
			if err != nil {
				return err
			}
			defer tx.Abort()
			meta := img.Meta
			err = importer.Rebuild(c.Context(), &meta, blobOpener(img.Repo), tx.SquashfsPath(),
				importer.Options{Compression: compress, Progress: newProgress(g, "rebuilding "+img.Name), Log: g.Log})
			if err != nil {
				return fmt.Errorf("rebuilding %s: %w", img.QualifiedName(), err)
			}
			fi, err := os.Stat(tx.SquashfsPath())
			if err != nil {
				return err
			}
			meta.Squashfs = &imagemeta.Squashfs{File: importer.SquashfsFile, Size: fi.Size(), Compression: squashfs.Effective(compress)}
			if err := tx.Publish(img.Name, &meta, true); err != nil {
				return err
			}
			if !g.Quiet {
				fmt.Fprintf(g.Stdout, "Rebuilt %s\n", img.QualifiedName())
			}
			return nil
		},
	}
	addCompressFlag(c, &compress)
	return c
}

func newImageExportCmd(g *Globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "export [-t FMT] [REPO:]NAME[@REV] DEST",
		Short: "Export an image to docker-archive:FILE[:REF], oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-daemon:NAME[:TAG]; a VM image to a disk file",
		Long: `Export a container image to DEST, a TRANSPORT:PATH as 'image import' reads
(docker-archive:FILE[:REF], oci:DIR[:TAG], oci-archive:FILE[:TAG],
docker-daemon:NAME[:TAG]); or a revision of a VM image, flattened, to the disk
file DEST in the format of --fmt, else of DEST's extension, else qcow2.`,
		Args:              exactArgs(2, "NAME and DEST"),
		ValidArgsFunction: completeImages(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			img, err := g.findImage(args[0])
			if err != nil {
				return err
			}
			if img.Meta.Type == imagemeta.TypeVM {
				return exportVM(c.Context(), g, img, args[1], format)
			}
			if format != "" {
				return usageError("--fmt: only a VM image is exported to a disk format")
			}
			dest, err := transport.ParseRef(args[1])
			if err != nil {
				return usageError("DEST: %v", err)
			}
			if err := checkLayersKept(img, "export"); err != nil {
				return err
			}
			if err := importer.Export(c.Context(), &img.Meta, blobOpener(img.Repo), dest); err != nil {
				return fmt.Errorf("exporting %s: %w", img.QualifiedName(), err)
			}
			if !g.Quiet {
				fmt.Fprintf(g.Stdout, "Exported %s to %s\n", img.QualifiedName(), args[1])
			}
			return nil
		},
	}
	c.Flags().StringVarP(&format, "fmt", "t", "", "disk format of an exported VM image: "+strings.Join(vmimage.Formats, ", "))
	return c
}

// checkLayersKept refuses to rebuild or export an image whose layer blobs
// were not kept, before anything is read or written.
func checkLayersKept(img *repo.Image, verb string) error {
	if !img.Meta.NoLayers {
		return nil
	}
	return fmt.Errorf("cannot %s %s: only its squashfs was kept (imported with --no-layers or into a repository with keep_layers: false); import it again from %q to %s it",
		verb, img.QualifiedName(), img.Meta.Origin.Source, verb)
}
