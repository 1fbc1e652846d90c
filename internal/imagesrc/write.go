package imagesrc

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// NewLayered returns the Layered image of a configuration blob and layers
// kept elsewhere (a repository's blobs): what an export writes. Its digest
// is the configuration's; Close does nothing.
func NewLayered(cfg imagemeta.Config, blob []byte, configDigest string, layers []Layer) Layered {
	return &layered{config: cfg, blob: blob, configDigest: configDigest, digest: configDigest, layers: layers}
}

// writer writes a Layered image in the layouts of the transports.
type writer struct {
	ctx context.Context
	img Layered
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

// copyLayer copies a layer blob of known size and digest to w, verifying it.
func (e *writer) copyLayer(w io.Writer, l Layer) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	rc, err := l.Open()
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", l.Digest, err)
	}
	defer rc.Close()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, l.Size+1))
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", l.Digest, err)
	}
	if got := string(h.Digest()); n != l.Size || got != l.Digest {
		return fmt.Errorf("stored blob %s is corrupt (%d bytes, digest %s)", l.Digest, n, got)
	}
	return nil
}

// tarBlobs writes the config and layer blobs into tw, each once, named by name.
func (e *writer) tarBlobs(tw *tar.Writer, name func(digest, ext string) string, layerExt string) error {
	if err := tarFile(tw, name(e.img.ConfigDigest(), ".json"), e.img.ConfigBlob()); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, l := range e.img.Layers() {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name(l.Digest, layerExt), Size: l.Size, Mode: 0o644}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := e.copyLayer(tw, l); err != nil {
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

// ociManifest returns the OCI manifest of the image and its index entry.
func (e *writer) ociManifest(tag string) ([]byte, manifest.Descriptor) {
	cfg := manifest.Descriptor{MediaType: mediatype.OCIConfig,
		Digest: digest.Digest(e.img.ConfigDigest()), Size: int64(len(e.img.ConfigBlob()))}
	var layers []manifest.Descriptor
	for _, l := range e.img.Layers() {
		layers = append(layers, manifest.Descriptor{MediaType: mediatype.ToOCI(l.MediaType),
			Digest: digest.Digest(l.Digest), Size: l.Size})
	}
	b, d := manifest.Encode(manifest.NewManifest(cfg, layers), mediatype.OCIManifest)
	if tag != "" {
		d.Annotations = map[string]string{manifest.AnnotationRefName: tag}
	}
	return b, d
}
