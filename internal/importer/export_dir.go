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

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func digestT(d string) digest.Digest { return digest.Digest(d) }

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
	layout := filepath.Join(dir, ocispec.ImageLayoutFile)
	if _, err := os.Stat(layout); errors.Is(err, fs.ErrNotExist) {
		if err := writeAtomically(layout, func(w io.Writer) error { _, err := io.WriteString(w, ociLayoutFile); return err }); err != nil {
			return err
		}
	}
	var keep []ocispec.Descriptor
	for _, d := range idx.Manifests {
		if tag == "" || d.Annotations[ocispec.AnnotationRefName] != tag {
			keep = append(keep, d)
		}
	}
	b, _ := json.Marshal(index(append(keep, desc)))
	return writeAtomically(filepath.Join(dir, ocispec.ImageIndexFile), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func readIndex(dir string) (ocispec.Index, error) {
	var idx ocispec.Index
	b, err := os.ReadFile(filepath.Join(dir, ocispec.ImageIndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, fmt.Errorf("decoding the existing %s: %w", ocispec.ImageIndexFile, err)
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
