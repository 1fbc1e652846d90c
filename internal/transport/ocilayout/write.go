package ocilayout

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

// WriteDir adds img to the OCI layout ref.Path, tagged ref.Ref: blobs
// first, index.json replaced last.
func WriteDir(ctx context.Context, img imagesrc.Layered, ref imagesrc.Ref) error {
	return ociDir(&layout.Writer{Ctx: ctx, Img: img}, ref.Path, ref.Ref)
}

// WriteArchive writes img as the OCI archive file ref.Path, tagged ref.Ref.
func WriteArchive(ctx context.Context, img imagesrc.Layered, ref imagesrc.Ref) error {
	return layout.WriteArchive(ctx, img, ref.Path, ref.Ref, ociArchive)
}

// blobDir is where a layout keeps its blobs.
const blobDir = "blobs/sha256/"

// blobName names the blob digested d in a layout.
func blobName(d digest.Digest, _ string) string { return blobDir + d.Hex() }

func ociArchive(e *layout.Writer, w io.Writer, tag string) error {
	tw := tar.NewWriter(w)
	if err := layout.TarFile(tw, manifest.LayoutFile, []byte(manifest.Layout)); err != nil {
		return err
	}
	if err := e.TarBlobs(tw, blobName, ""); err != nil {
		return err
	}
	mb, desc := ociManifest(e.Img, tag)
	if err := layout.TarFile(tw, blobName(desc.Digest, ""), mb); err != nil {
		return err
	}
	idx, _ := manifest.Encode(manifest.NewIndex([]manifest.Descriptor{desc}), mediatype.OCIIndex)
	if err := layout.TarFile(tw, manifest.IndexFile, idx); err != nil {
		return err
	}
	return tw.Close()
}

// ociDir adds the image to the OCI layout in dir (made when missing),
// replacing an image of the same tag. Blobs present are kept.
func ociDir(e *layout.Writer, dir, tag string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	idx, err := readIndex(dir)
	if err != nil {
		return err
	}
	cfg := e.Img.ConfigBlob()
	if err := dirBlob(dir, e.Img.ConfigDigest(), int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
		return err
	}
	for _, l := range e.Img.Layers() {
		if err := dirLayer(e, dir, l); err != nil {
			return err
		}
	}
	mb, desc := ociManifest(e.Img, tag)
	if err := dirBlob(dir, desc.Digest, desc.Size, bytes.NewReader(mb)); err != nil {
		return err
	}
	layoutFile := filepath.Join(dir, manifest.LayoutFile)
	if _, err := os.Stat(layoutFile); errors.Is(err, fs.ErrNotExist) {
		if err := layout.WriteAtomically(layoutFile, func(w io.Writer) error { _, err := io.WriteString(w, manifest.Layout); return err }); err != nil {
			return err
		}
	}
	var keep []manifest.Descriptor
	for _, d := range idx.Manifests {
		if tag == "" || d.Annotations[manifest.AnnotationRefName] != tag {
			keep = append(keep, d)
		}
	}
	b, _ := manifest.Encode(manifest.NewIndex(append(keep, desc)), mediatype.OCIIndex)
	return layout.WriteAtomically(filepath.Join(dir, manifest.IndexFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func readIndex(dir string) (manifest.Index, error) {
	var idx manifest.Index
	b, err := os.ReadFile(filepath.Join(dir, manifest.IndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, fmt.Errorf("decoding the existing %s: %w", manifest.IndexFile, err)
	}
	return idx, nil
}

func dirLayer(e *layout.Writer, dir string, l imagesrc.Layer) error {
	p := filepath.Join(dir, blobName(l.Digest, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return layout.WriteAtomically(p, func(w io.Writer) error { return e.CopyLayer(w, l) })
}

func dirBlob(dir string, d digest.Digest, size int64, r io.Reader) error {
	p := filepath.Join(dir, blobName(d, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return layout.WriteAtomically(p, func(w io.Writer) error {
		_, err := io.CopyN(w, r, size)
		return err
	})
}

// ociManifest returns the OCI manifest of the image and its index entry.
func ociManifest(img imagesrc.Layered, tag string) ([]byte, manifest.Descriptor) {
	cfg := manifest.Descriptor{MediaType: mediatype.OCIConfig,
		Digest: img.ConfigDigest(), Size: int64(len(img.ConfigBlob()))}
	var layers []manifest.Descriptor
	for _, l := range img.Layers() {
		layers = append(layers, manifest.Descriptor{MediaType: mediatype.ToOCI(l.MediaType),
			Digest: l.Digest, Size: l.Size})
	}
	b, d := manifest.Encode(manifest.NewManifest(cfg, layers), mediatype.OCIManifest)
	if tag != "" {
		d.Annotations = map[string]string{manifest.AnnotationRefName: tag}
	}
	return b, d
}
