//go:build !pcocc_launcher

package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/importer"
	"github.com/pcocc/pcocc/internal/progress"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/runtime"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/transport"
	"github.com/pcocc/pcocc/internal/vmimage"
)

type importOptions struct {
	format   string // of a VM disk file ("": from its extension or qemu-img)
	compress string
	force    bool
	noLayers bool
}

func newImageImportCmd(g *Globals) *cobra.Command {
	var o importOptions
	c := &cobra.Command{
		Use:   "import [--compress C] [-f] [--no-layers] [-t FMT] SOURCE [REPO:]NAME",
		Short: "Import an image into a repository",
		Long: `Import an image into a repository (the user repository when no REPO is given).
The layers are flattened in one streaming pass into a squashfs file.

SOURCE is TRANSPORT:PATH (TRANSPORT://PATH also works):
  docker-archive:FILE[:REF]   a 'docker save' or 'podman save' archive
  oci:DIR[:TAG]               an OCI image layout directory
  oci-archive:FILE[:TAG]      a tar of an OCI image layout
  docker-daemon:NAME[:TAG]    an image of the Docker engine at $DOCKER_HOST
                              (default unix:///var/run/docker.sock)
  docker://[REGISTRY/]REPO[:TAG|@DIGEST]
                              an image on a registry (default registry:
                              $PCOCC_DEFAULT_REGISTRY, else docker.io)
  sif:FILE                    a Singularity/Apptainer SIF: its squashfs is
                              copied as it is (--compress does not apply);
                              its environment, labels and runscript are kept

A SOURCE with no transport is a VM disk file: raw, qcow2, qed, vdi, vpc or
vmdk (from --fmt, else the extension, else what qemu-img reads), converted
to qcow2 as revision 0 of a VM image (see 'pcocc help vm-images').`,
		Example: `  docker save my_docker_image -o my_docker_image.tar
  pcocc image import docker-archive:my_docker_image.tar my_docker_image
  pcocc image import docker-daemon:myubuntu:latest myubuntu
  pcocc image import docker://ubuntu:24.04 ubuntu
  pcocc image import sif:lolcow.sif lolcow
  pcocc image import ./debian.qcow2 mydebian`,
		Args: exactArgs(2, "SOURCE and NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			return runImport(c.Context(), g, o, args[0], args[1])
		},
	}
	addCompressFlag(c, &o.compress)
	c.Flags().BoolVarP(&o.force, "force", "f", false, "replace an existing image of that name")
	c.Flags().StringVarP(&o.format, "fmt", "t", "", "format of a VM disk file: "+strings.Join(vmimage.Formats, ", "))
	c.Flags().BoolVar(&o.noLayers, "no-layers", false,
		"keep only the squashfs, not the layers (less disk; no 'image rebuild' nor 'image export')")
	return c
}

func runImport(ctx context.Context, g *Globals, o importOptions, source, dest string) error {
	// The transaction is aborted on every failure: an interrupted import
	// leaves nothing that a listing shows.
	return interrupted(ctx, doImport(ctx, g, o, source, dest), "nothing was imported")
}

func doImport(ctx context.Context, g *Globals, o importOptions, source, dest string) error {
	ref, err := transport.ParseRef(source)
	if isVMFile(source, err) {
		return importVM(ctx, g, o, source, dest)
	}
	if err != nil {
		return usageError("SOURCE: %v", err)
	}
	if o.format != "" {
		return usageError("--fmt: only a VM disk file (a SOURCE with no transport) has a format to give")
	}
	if err := checkCompression(g, o.compress); err != nil {
		return err
	}
	set, err := g.repos()
	if err != nil {
		return err
	}
	r, name, err := set.Dest(dest)
	if err != nil {
		return err
	}
	o.noLayers = o.noLayers || set.Def(r.Name).DropLayers
	if !o.force {
		if _, err := r.Get(name); err == nil {
			return fmt.Errorf("image %q already exists in repository %q (use -f to replace it)", name, r.Name)
		}
	}
	img, err := transport.Open(ctx, ref)
	if err != nil {
		return err
	}
	defer img.Close()
	if err := importInto(ctx, g, r, name, source, img, o); err != nil {
		return err
	}
	if !g.Quiet {
		fmt.Fprintf(g.Stdout, "Successfully imported %s as %s\n", source, qualified(r, name))
	}
	warnShadowed(g, r, name)
	return nil
}

// importInto flattens an opened source into a new image NAME of r, in one
// transaction that is aborted on any failure. image import and the run
// cache of sources (srccache.go) both import through it.
func importInto(ctx context.Context, g *Globals, r *repo.Repo, name, source string, img imagesrc.Image, o importOptions) error {
	tx, err := r.Begin()
	if err != nil {
		return err
	}
	defer tx.Abort()
	var sink importer.Sink = txSink{tx}
	if o.noLayers {
		sink = squashfsOnlySink{txSink{tx}}
	}
	meta, err := importer.Import(ctx, img, sink, importer.Options{
		Compression: o.compress, Progress: newProgress(g, "importing "+name),
		FetchProgress: newProgress(g, "fetching "+name), Log: g.Log})
	if err != nil {
		return err
	}
	d := img.Digest()
	if d == "" {
		d = meta.Origin.Digest // a SIF's: the digest of its squashfs
	}
	meta.Origin = origin(source, d)
	meta.NoLayers = o.noLayers && (len(meta.Layers) > 0 || meta.ConfigDigest != "")
	return tx.Publish(name, meta, o.force)
}

// warnShadowed says, at import time, when a template has the image's name:
// 'pcocc run NAME' runs the template (templates win), which a user who just
// imported NAME would not guess.
func warnShadowed(g *Globals, r *repo.Repo, name string) {
	t, err := g.config().Template(name)
	if err != nil {
		return
	}
	g.Log.Warn(fmt.Sprintf("the template %q (%s) has this name: 'pcocc run %s' runs the template; run the image as '%s'",
		name, t.Source, name, r.Name+":"+name))
}

func origin(source string, d digest.Digest) imagemeta.Origin {
	owner := strconv.Itoa(osGetuid())
	if u := runtime.CurrentUser(); u.Name != "" {
		owner = u.Name
	}
	return imagemeta.Origin{Source: source, Digest: d, Date: time.Now().UTC().Truncate(time.Second), Owner: owner}
}

func qualified(r *repo.Repo, name string) string {
	return repo.QualifiedName(r.Name, name)
}

// newProgress shows progress on a terminal and stays silent otherwise.
func newProgress(g *Globals, label string) progress.Reporter {
	f, _ := g.Stderr.(*os.File)
	return progress.New(f, label, g.Quiet)
}

func addCompressFlag(c *cobra.Command, v *string) {
	c.Flags().StringVar(v, "compress", squashfs.DefaultCompression,
		"squashfs compression: "+strings.Join(squashfs.Compressions, ", "))
}

func checkCompression(g *Globals, c string) error {
	if !slices.Contains(squashfs.Compressions, c) {
		return usageError("--compress: unknown compression %q (known: %s)", c, strings.Join(squashfs.Compressions, ", "))
	}
	if eff := squashfs.Effective(c); eff != c {
		g.Log.Warn(fmt.Sprintf("tar2sqfs cannot write an uncompressed squashfs: using %s, the fastest codec", eff))
	}
	return nil
}

// blobOpener reads blobs of a repository for rebuild and export.
func blobOpener(r *repo.Repo) func(digest.Digest) (io.ReadCloser, error) {
	return func(d digest.Digest) (io.ReadCloser, error) { return r.OpenBlob(d) }
}

// Dir and LinkBlob make txSink an importer.Stager, for streamed sources.
func (s txSink) Dir() string { return s.tx.Dir() }

func (s txSink) LinkBlob(d digest.Digest, path string) error { return s.tx.LinkBlob(d, path) }
