package ocilayout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

// Names of the transports.
const (
	DirName     = "oci"
	ArchiveName = "oci-archive"
)

// OpenDir opens the image tagged ref.Ref (or the only one) in the OCI
// layout directory ref.Path.
func OpenDir(_ context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	if fi, err := os.Stat(ref.Path); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%q is a file, not an OCI layout directory: a tar file is oci-archive:%s (or docker-archive:%s)", ref.Path, ref.Path, ref.Path)
	}
	p, err := openOCI(layout.Dir(ref.Path), ref)
	if err != nil {
		return nil, err
	}
	return imagesrc.NewLayered(p), nil
}

// OpenArchive opens the image tagged ref.Ref (or the only one) in the OCI
// archive file ref.Path.
func OpenArchive(_ context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	return layout.OpenArchive(ref.Path, func(st *layout.Tar) (imagesrc.Parts, error) { return openOCI(st, ref) })
}

// BlobOpener opens a blob by digest and returns its size. A missing blob is
// an error that names where it should be.
type BlobOpener func(d digest.Digest) (io.ReadCloser, int64, error)

// OpenIndex reads an image from an OCI index kept apart from its blobs, as
// the original pcocc keeps it (the index in an image's metadata, the blobs
// in its object store): the same checks as an OCI layout on disk. tag picks
// the index entry ("" for the only one).
func OpenIndex(index []byte, open BlobOpener, tag string) (imagesrc.Layered, error) {
	var idx manifest.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("decoding the OCI index: %w", err)
	}
	desc, err := pickTag(idx.Manifests, tag)
	if err != nil {
		return nil, err
	}
	p, err := readManifest(blobStore(open), desc, 0)
	if err != nil {
		return nil, err
	}
	return imagesrc.NewLayered(p), nil
}

// blobStore is a store whose only files are blobs/sha256/HEX.
type blobStore BlobOpener

func (b blobStore) Open(name string) (io.ReadCloser, int64, error) {
	hex, ok := strings.CutPrefix(name, blobDir)
	if !ok {
		return nil, 0, fmt.Errorf("%q: not a blob", name)
	}
	d, err := digest.FromHex(hex)
	if err != nil {
		return nil, 0, err
	}
	return b(d)
}

func (blobStore) Close() error { return nil }
