package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// ociDir adds the image to the OCI layout in dir (made when missing),
// replacing an image of the same tag. Blobs present are kept.
func (e *export) ociDir(dir, tag string) error {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	idx, err := readIndex(dir)
	if err != nil {
		return err
	}
	if err := e.dirBlob(dir, e.meta.ConfigDigest, int64(len(e.config)), bytes.NewReader(e.config)); err != nil {
		return err
	}
	for _, l := range e.meta.Layers {
		if err := e.dirLayer(dir, l.Digest, l.Size); err != nil {
			return err
		}
	}
	mb, desc := e.manifest(tag)
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

func (e *export) dirLayer(dir, d string, size int64) error {
	p := filepath.Join(dir, ociName(d, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomically(p, func(w io.Writer) error { return e.copyBlob(w, d, size) })
}

func (e *export) dirBlob(dir, d string, size int64, r io.Reader) error {
	p := filepath.Join(dir, ociName(d, ""))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomically(p, func(w io.Writer) error {
		_, err := io.CopyN(w, r, size)
		return err
	})
}
