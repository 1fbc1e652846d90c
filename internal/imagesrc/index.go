package imagesrc

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/pcocc/pcocc/internal/manifest"
)

// BlobOpener opens a blob by digest and returns its size. A missing blob is
// an error that names where it should be.
type BlobOpener func(digest string) (io.ReadCloser, int64, error)

// OpenIndex reads an image from an OCI index kept apart from its blobs, as
// the original pcocc keeps it (the index in an image's metadata, the blobs
// in its object store): the same checks as an OCI layout on disk. tag picks
// the index entry ("" for the only one).
func OpenIndex(index []byte, open BlobOpener, tag string) (Layered, error) {
	var idx manifest.Index
	if err := json.Unmarshal(index, &idx); err != nil {
		return nil, fmt.Errorf("decoding the OCI index: %w", err)
	}
	desc, err := pickTag(idx.Manifests, tag)
	if err != nil {
		return nil, err
	}
	img, err := readManifest(blobStore(open), desc, 0)
	if err != nil {
		return nil, err
	}
	img.close = func() error { return nil }
	return img, nil
}

// blobStore is a store whose only files are blobs/sha256/HEX.
type blobStore BlobOpener

func (b blobStore) open(name string) (io.ReadCloser, int64, error) {
	hex, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok {
		return nil, 0, fmt.Errorf("%q: not a blob", name)
	}
	return b("sha256:" + hex)
}

func (blobStore) close() error { return nil }
