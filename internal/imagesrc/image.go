package imagesrc

import (
	"context"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Layer is one layer blob of an image.
type Layer struct {
	Digest    string // sha256:<hex> of the blob as stored in the source
	DiffID    string // sha256:<hex> of the uncompressed tar (the config's rootfs.diff_ids)
	MediaType string
	Size      int64                         // blob size, -1 if unknown
	Open      func() (io.ReadCloser, error) // the raw blob bytes; callers verify digests
}

// Image is an image opened in a source. Digests are those the source claims
// (the config blob is checked): the importer verifies the layers as it
// reads them.
type Image struct {
	Config       imagemeta.Config
	ConfigBlob   []byte // raw configuration JSON as in the source
	ConfigDigest string
	Digest       string  // manifest digest when there is one, else the config digest
	Layers       []Layer // bottom first
	Close        func() error
}

// Open opens the image ref names.
func Open(ctx context.Context, ref Ref) (*Image, error) {
	img, err := open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ref, err)
	}
	return img, nil
}

func open(_ context.Context, ref Ref) (*Image, error) {
	switch ref.Transport {
	case DockerArchive:
		return openDockerArchive(ref)
	case OCI:
		return openOCI(dirStore{ref.Path}, ref, nopClose)
	case OCIArchive:
		st, err := openTarStore(ref.Path)
		if err != nil {
			return nil, err
		}
		img, err := openOCI(st, ref, st.close)
		if err != nil {
			st.close()
		}
		return img, err
	case DockerDaemon, Docker, SIF:
		return nil, fmt.Errorf("%w: %s", ErrNotSupported, ref.Transport)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownTransport, ref.Transport)
}

func nopClose() error { return nil }

// opener returns a Layer.Open reading name from st.
func opener(st store, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, _, err := st.open(name)
		return rc, err
	}
}
