package imagesrc

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
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// writeOCIArchive writes img to the file ref.Path, tagged ref.Ref, under
// a temporary name renamed at the end.
func writeOCIArchive(ctx context.Context, img Layered, ref Ref) error {
	e := &writer{ctx: ctx, img: img}
	return writeAtomically(ref.Path, func(w io.Writer) error { return e.ociArchive(w, ref.Ref) })
}

// writeOCIDir adds img to the OCI layout ref.Path: blobs first, index.json
// replaced last.
func writeOCIDir(ctx context.Context, img Layered, ref Ref) error {
	e := &writer{ctx: ctx, img: img}
	return e.ociDir(ref.Path, ref.Ref)
}

func ociName(d, _ string) string { return "blobs/sha256/" + digest.Digest(d).Hex() }

func (e *writer) ociArchive(w io.Writer, tag string) error {
	tw := tar.NewWriter(w)
	if err := tarFile(tw, manifest.LayoutFile, []byte(manifest.Layout)); err != nil {
		return err
	}
	if err := e.tarBlobs(tw, ociName, ""); err != nil {
		return err
	}
	mb, desc := e.ociManifest(tag)
	if err := tarFile(tw, ociName(string(desc.Digest), ""), mb); err != nil {
		return err
	}
	idx, _ := manifest.Encode(manifest.NewIndex([]manifest.Descriptor{desc}), mediatype.OCIIndex)
	if err := tarFile(tw, manifest.IndexFile, idx); err != nil {
		return err
	}
	return tw.Close()
}

// ociDir adds the image to the OCI layout in dir (made when missing),
// replacing an image of the same tag. Blobs present are kept.
func (e *writer) ociDir(dir, tag string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	idx, err := readIndex(dir)
	if err != nil {
		return err
	}
	cfg := e.img.ConfigBlob()
	if err := e.dirBlob(dir, e.img.ConfigDigest(), int64(len(cfg)), bytes.NewReader(cfg)); err != nil {
		return err
	}
	for _, l := range e.img.Layers() {
		if err := e.dirLayer(dir, l); err != nil {
			return err
		}
	}
	mb, desc := e.ociManifest(tag)
	if err := e.dirBlob(dir, string(desc.Digest), desc.Size, bytes.NewReader(mb)); err != nil {
		return err
	}
	layout := filepath.Join(dir, manifest.LayoutFile)
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		if err := writeAtomically(layout, func(w io.Writer) error { _, err := io.WriteString(w, manifest.Layout); return err }); err != nil {
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
	return writeAtomically(filepath.Join(dir, manifest.IndexFile), func(w io.Writer) error {
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

func (e *writer) dirLayer(dir string, l Layer) error {
	p := filepath.Join(dir, ociName(l.Digest, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomically(p, func(w io.Writer) error { return e.copyLayer(w, l) })
}

func (e *writer) dirBlob(dir, d string, size int64, r io.Reader) error {
	p := filepath.Join(dir, ociName(d, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomically(p, func(w io.Writer) error {
		_, err := io.CopyN(w, r, size)
		return err
	})
}
