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
	ConfigBlob   []byte // raw configuration JSON as in the source; nil with Squashfs
	ConfigDigest string
	Digest       string  // manifest digest when there is one, else the config digest
	Layers       []Layer // bottom first
	Close        func() error

	// Squashfs, when set, is a root file system the source already holds
	// as a squashfs (a SIF): it is copied as it is, and there are no
	// layers nor configuration blob.
	Squashfs *SquashfsRoot

	// Fetch, when set, must be called before anything else is read: the
	// source is a stream (an engine's export, a registry) whose blobs must
	// be kept in sp before the image is known. It fills the fields above.
	Fetch func(ctx context.Context, sp Spool) error
}

// SquashfsRoot is a squashfs to take as it is.
type SquashfsRoot struct {
	Size int64
	Open func() (io.ReadCloser, error)
	// Config reads the image configuration from the copy of the squashfs
	// at path; warnings say what could not be kept.
	Config func(ctx context.Context, path string) (cfg imagemeta.Config, warnings []string, err error)
}

// Spool keeps the blobs of a streamed source, where they stay (the
// repository's blob store of the import).
type Spool interface {
	// Put stores what r gives and returns its digest, size and a way to
	// read it again. A non-empty want is the digest r must have: on a
	// mismatch nothing is kept and the error says so.
	Put(r io.Reader, want string) (Spooled, error)
	// Expect says how many bytes (-1: unknown) and blobs are coming, for
	// progress.
	Expect(total int64, blobs int)
}

// Spooled is a blob kept by a Spool.
type Spooled struct {
	Digest string
	Size   int64
	Open   func() (io.ReadCloser, error)
}

// Open opens the image ref names.
func Open(ctx context.Context, ref Ref) (*Image, error) {
	img, err := open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ref, err)
	}
	return img, nil
}

func open(ctx context.Context, ref Ref) (*Image, error) {
	t, ok := Lookup(ref.Transport)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTransport, ref.Transport)
	}
	return t.Open(ctx, ref)
}

func nopClose() error { return nil }

// opener returns a Layer.Open reading name from st.
func opener(st store, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, _, err := st.open(name)
		return rc, err
	}
}
