// Package imagesrc is the seam between where an image comes from and what
// is done with it: the interfaces every transport's images implement
// (Image and the Layered, Streamed and SquashfsImage kinds), their layers,
// the Spool streamed sources keep their blobs in, and the reference
// (Ref) naming an image in a transport. It knows no transport: those are
// the packages under internal/transport, which read and write them, and
// internal/transport lists them and dispatches a Ref to its transport.
package imagesrc

import (
	"context"
	"io"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Layer is one layer blob of an image.
type Layer struct {
	Digest    digest.Digest // of the blob as stored in the source
	DiffID    digest.Digest // sha256:<hex> of the uncompressed tar (the config's rootfs.diff_ids)
	MediaType string
	Size      int64                         // blob size, -1 if unknown
	Open      func() (io.ReadCloser, error) // the raw blob bytes; callers verify digests
}

// Image is an image opened in a source; what it gives is said by the
// interfaces below it also implements (one of them): Layered, Streamed or
// SquashfsImage. Digests are those the source claims (a configuration blob
// is checked): the importer verifies the layers as it reads them.
type Image interface {
	// Digest names the image in its source: its manifest's digest when
	// it has one, else its configuration's; "" for a SIF.
	Digest() digest.Digest
	Close() error
}

// Layered is an image of layers and a configuration (OCI, Docker).
type Layered interface {
	Image
	Config() imagemeta.Config
	// ConfigBlob is the raw configuration JSON as in the source.
	ConfigBlob() []byte
	ConfigDigest() digest.Digest
	// Layers are bottom first.
	Layers() []Layer
}

// Streamed is an image whose blobs must be kept before it can be read (an
// engine's export, a registry): Fetch keeps them in sp, then returns the
// image, reading from sp.
type Streamed interface {
	Image
	Fetch(ctx context.Context, sp Spool) (Layered, error)
}

// SquashfsImage is an image whose root file system the source holds as a
// squashfs already (a SIF): it is copied as it is, and there are no layers
// nor configuration blob.
type SquashfsImage interface {
	Image
	Squashfs() *SquashfsRoot
}

// Parts are what a Layered image is made of, as a transport found them.
type Parts struct {
	Config       imagemeta.Config
	ConfigBlob   []byte
	ConfigDigest digest.Digest
	Digest       digest.Digest // "": the configuration's digest
	Layers       []Layer
	Close        func() error // nil: nothing to close
}

// NewLayered returns the Layered image of p: what every transport reader
// builds, and what an export writes from a repository's blobs.
func NewLayered(p Parts) Layered {
	if p.Digest == "" {
		p.Digest = p.ConfigDigest
	}
	return &layered{p}
}

type layered struct{ p Parts }

func (l *layered) Digest() digest.Digest       { return l.p.Digest }
func (l *layered) Config() imagemeta.Config    { return l.p.Config }
func (l *layered) ConfigBlob() []byte          { return l.p.ConfigBlob }
func (l *layered) ConfigDigest() digest.Digest { return l.p.ConfigDigest }
func (l *layered) Layers() []Layer             { return l.p.Layers }

func (l *layered) Close() error {
	if l.p.Close == nil {
		return nil
	}
	return l.p.Close()
}

// NewStreamed returns the Streamed image digested d whose Fetch is fetch.
func NewStreamed(d digest.Digest, fetch func(ctx context.Context, sp Spool) (Layered, error)) Streamed {
	return &streamed{digest: d, fetch: fetch}
}

type streamed struct {
	digest digest.Digest
	fetch  func(ctx context.Context, sp Spool) (Layered, error)
}

func (s *streamed) Digest() digest.Digest { return s.digest }
func (s *streamed) Close() error          { return nil }
func (s *streamed) Fetch(ctx context.Context, sp Spool) (Layered, error) {
	return s.fetch(ctx, sp)
}

// NewSquashfsImage returns the SquashfsImage of root; closing it calls
// closeFn.
func NewSquashfsImage(root *SquashfsRoot, closeFn func() error) SquashfsImage {
	return &squashfsImage{root: root, close: closeFn}
}

type squashfsImage struct {
	root  *SquashfsRoot
	close func() error
}

func (s *squashfsImage) Digest() digest.Digest   { return "" }
func (s *squashfsImage) Close() error            { return s.close() }
func (s *squashfsImage) Squashfs() *SquashfsRoot { return s.root }

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
	Put(r io.Reader, want digest.Digest) (Spooled, error)
	// Expect says how many bytes (-1: unknown) and blobs are coming, for
	// progress.
	Expect(total int64, blobs int)
}

// Spooled is a blob kept by a Spool.
type Spooled struct {
	Digest digest.Digest
	Size   int64
	Open   func() (io.ReadCloser, error)
}
