package importer

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// Export writes an imported image to dest (docker-archive:FILE[:REF],
// oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-daemon:REF) from its stored blobs, which
// open returns by digest. Archive files are written under a temporary name
// and renamed at the end; into an OCI directory, blobs are added first and
// index.json is replaced last.
func Export(ctx context.Context, meta *imagemeta.Meta, open func(digest string) (io.ReadCloser, error), dest imagesrc.Ref) error {
	if len(meta.Layers) == 0 && meta.ConfigDigest == "" {
		return fmt.Errorf("exporting to %s: %w", dest, ErrNoLayers)
	}
	e, err := newExport(meta, open)
	if err != nil {
		return fmt.Errorf("exporting to %s: %w", dest, err)
	}
	e.ctx = ctx
	switch dest.Transport {
	case imagesrc.DockerArchive:
		err = writeAtomically(dest.Path, func(w io.Writer) error { return e.dockerArchive(w, dest.Ref) })
	case imagesrc.OCIArchive:
		err = writeAtomically(dest.Path, func(w io.Writer) error { return e.ociArchive(w, dest.Ref) })
	case imagesrc.OCI:
		err = e.ociDir(dest.Path, dest.Ref)
	case imagesrc.DockerDaemon:
		err = e.toEngine(dest.Ref)
	default:
		err = fmt.Errorf("%w: export to %s", imagesrc.ErrNotSupported, dest.Transport)
	}
	if err != nil {
		return fmt.Errorf("exporting to %s: %w", dest, err)
	}
	return nil
}

type export struct {
	ctx    context.Context
	meta   *imagemeta.Meta
	open   func(string) (io.ReadCloser, error)
	config []byte
}

func newExport(meta *imagemeta.Meta, open func(string) (io.ReadCloser, error)) (*export, error) {
	rc, err := open(meta.ConfigDigest)
	if err != nil {
		return nil, fmt.Errorf("reading image configuration: %w", err)
	}
	defer rc.Close()
	cfg, err := io.ReadAll(io.LimitReader(rc, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading image configuration: %w", err)
	}
	if string(digest.FromBytes(cfg)) != meta.ConfigDigest {
		return nil, fmt.Errorf("stored configuration does not match its digest %s", meta.ConfigDigest)
	}
	for _, l := range meta.Layers {
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %s: size unknown", l.Digest)
		}
	}
	return &export{meta: meta, open: open, config: cfg}, nil
}

// writeAtomically writes path through a temporary file renamed at the end.
func writeAtomically(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// copyBlob copies a stored blob of known size and digest to w, verifying it.
func (e *export) copyBlob(w io.Writer, want string, size int64) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	rc, err := e.open(want)
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", want, err)
	}
	defer rc.Close()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, size+1))
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", want, err)
	}
	if got := string(h.Digest()); n != size || got != want {
		return fmt.Errorf("stored blob %s is corrupt (%d bytes, digest %s)", want, n, got)
	}
	return nil
}

// tarBlobs writes the config and layer blobs into tw, each once, named by name.
func (e *export) tarBlobs(tw *tar.Writer, name func(digest, ext string) string, layerExt string) error {
	if err := tarFile(tw, name(e.meta.ConfigDigest, ".json"), e.config); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range e.meta.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name(l.Digest, layerExt), Size: l.Size, Mode: 0o644}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := e.copyBlob(tw, l.Digest, l.Size); err != nil {
			return err
		}
	}
	return nil
}

func tarFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(b)), Mode: 0o644}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// dockerArchive writes the layout of `docker save` / `podman save`: layers
// named <digest>.tar (docker load takes compressed ones too).
func (e *export) dockerArchive(w io.Writer, ref string) error {
	tw := tar.NewWriter(w)
	var layers []string
	for _, l := range e.meta.Layers {
		layers = append(layers, l.Digest)
	}
	m := imagesrc.NewDockerManifest(e.meta.ConfigDigest, layers, ref)
	if err := e.tarBlobs(tw, imagesrc.DockerBlobName, ".tar"); err != nil {
		return err
	}
	mj, _ := json.Marshal([]imagesrc.DockerManifest{m})
	if err := tarFile(tw, "manifest.json", mj); err != nil {
		return err
	}
	return tw.Close()
}

// manifest returns the OCI manifest of the image and its index entry.
func (e *export) manifest(tag string) ([]byte, manifest.Descriptor) {
	cfg := manifest.Descriptor{MediaType: mediatype.OCIConfig,
		Digest: digest.Digest(e.meta.ConfigDigest), Size: int64(len(e.config))}
	var layers []manifest.Descriptor
	for _, l := range e.meta.Layers {
		layers = append(layers, manifest.Descriptor{MediaType: mediatype.ToOCI(l.MediaType),
			Digest: digest.Digest(l.Digest), Size: l.Size})
	}
	b, d := manifest.Encode(manifest.NewManifest(cfg, layers), mediatype.OCIManifest)
	if tag != "" {
		d.Annotations = map[string]string{manifest.AnnotationRefName: tag}
	}
	return b, d
}

func ociName(d, _ string) string { return "blobs/sha256/" + digest.Digest(d).Hex() }

func (e *export) ociArchive(w io.Writer, tag string) error {
	tw := tar.NewWriter(w)
	if err := tarFile(tw, manifest.LayoutFile, []byte(manifest.Layout)); err != nil {
		return err
	}
	if err := e.tarBlobs(tw, ociName, ""); err != nil {
		return err
	}
	mb, desc := e.manifest(tag)
	if err := tarFile(tw, ociName(string(desc.Digest), ""), mb); err != nil {
		return err
	}
	idx, _ := manifest.Encode(manifest.NewIndex([]manifest.Descriptor{desc}), mediatype.OCIIndex)
	if err := tarFile(tw, manifest.IndexFile, idx); err != nil {
		return err
	}
	return tw.Close()
}
