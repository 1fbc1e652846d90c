package importer

import (
	"errors"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/rootfs"
)

// pipeline holds the layers of one import or rebuild.
type pipeline struct {
	layers []imagesrc.Layer
	sink   Sink // nil: nothing to store
	opt    Options
	sizes  []int64 // blob sizes seen
}

func newPipeline(layers []imagesrc.Layer, sink Sink, opt Options) (*pipeline, error) {
	for i, l := range layers {
		if l.Digest.Validate() != nil || l.DiffID.Validate() != nil {
			return nil, fmt.Errorf("layer %d: invalid digest %q or diff ID %q", i+1, l.Digest, l.DiffID)
		}
	}
	return &pipeline{layers: layers, sink: sink, opt: opt, sizes: make([]int64, len(layers))}, nil
}

func (p *pipeline) total() int64 {
	var t int64
	for _, l := range p.layers {
		if l.Size < 0 {
			return -1
		}
		t += l.Size
	}
	return t
}

// layerName names a layer in messages: its position and short digest.
func layerName(i, n int, d digest.Digest) string {
	return fmt.Sprintf("%d/%d (%s)", i+1, n, d.Short())
}

func (p *pipeline) streams() []rootfs.Stream {
	s := make([]rootfs.Stream, len(p.layers))
	for i := range p.layers {
		s[i] = rootfs.Stream{Name: layerName(i, len(p.layers), p.layers[i].Digest), Open: p.opener(i)}
	}
	return s
}

// opener stores the blob on the first read only: a second read (see
// rootfs.Stream) just verifies it again.
func (p *pipeline) opener(i int) func() (io.ReadCloser, error) {
	first := true
	return func() (io.ReadCloser, error) {
		l := p.layers[i]
		var blob Blob
		if first && p.sink != nil {
			var err error
			if blob, err = p.sink.BlobWriter(l.Digest); err != nil {
				return nil, fmt.Errorf("storing blob %s: %w", l.Digest, err)
			}
		}
		raw, err := l.Open()
		if err != nil {
			if blob != nil {
				blob.Abort()
			}
			return nil, err
		}
		v, err := newVerifier(raw, l, blob, p.opt.Progress.Reader)
		if err != nil {
			return nil, err
		}
		if first {
			v.done = func(size int64) { p.sizes[i] = size; p.opt.Progress.LayerDone() }
		}
		first = false
		return v, nil
	}
}

func (p *pipeline) metaLayers() []imagemeta.Layer {
	out := make([]imagemeta.Layer, len(p.layers))
	for i, l := range p.layers {
		out[i] = imagemeta.Layer{Digest: l.Digest, DiffID: l.DiffID, MediaType: l.MediaType, Size: p.sizes[i]}
	}
	return out
}

// verifier reads a layer blob once: the raw bytes go to the blob digest and
// to the repository, the decompressed ones to the diff ID digest and to the
// reader. Close verifies both digests when the stream was read to its end,
// then commits the blob; otherwise it drops the blob and returns an error:
// bytes that were read were never verified.
type verifier struct {
	layer    imagesrc.Layer
	raw      io.ReadCloser
	src      io.Reader // raw, teed
	dec      io.ReadCloser
	r        io.Reader // dec, teed
	blobHash digest.Hasher
	diffHash *digest.Hasher
	blob     Blob
	n        counter
	eof      bool
	closed   bool
	done     func(size int64)
}

func newVerifier(raw io.ReadCloser, l imagesrc.Layer, blob Blob, count func(io.Reader) io.Reader) (*verifier, error) {
	v := &verifier{layer: l, raw: raw, blobHash: digest.NewHasher(), blob: blob}
	sinks := []io.Writer{v.blobHash, &v.n}
	if blob != nil {
		sinks = append(sinks, blob)
	}
	v.src = io.TeeReader(count(raw), io.MultiWriter(sinks...))
	dec, comp, err := rootfs.DecompressDetect(v.src)
	if err != nil {
		v.abort()
		return nil, err
	}
	v.dec, v.r = dec, dec
	// An uncompressed blob (docker save) is its own diff: hashing the same
	// bytes twice would cost a whole SHA-256 pass on the import's hot path.
	if comp != rootfs.Uncompressed || l.DiffID != l.Digest {
		h := digest.NewHasher()
		v.diffHash = &h
		v.r = io.TeeReader(dec, h)
	}
	return v, nil
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err == io.EOF {
		v.eof = true
	}
	return n, err
}

func (v *verifier) abort() {
	if v.blob != nil {
		v.blob.Abort()
	}
	v.raw.Close()
}

func (v *verifier) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	if v.dec != nil {
		v.dec.Close()
	}
	if !v.eof {
		v.abort()
		return errNotVerified
	}
	if err := v.finish(); err != nil {
		v.abort()
		return err
	}
	v.raw.Close()
	if v.blob != nil {
		if err := v.blob.Close(); err != nil {
			return fmt.Errorf("storing blob %s: %w", v.layer.Digest, err)
		}
	}
	if v.done != nil {
		v.done(int64(v.n))
	}
	return nil
}

// finish reads what follows the compressed stream and checks the digests.
func (v *verifier) finish() error {
	if _, err := io.Copy(io.Discard, v.src); err != nil {
		return err
	}
	if got := v.blobHash.Digest(); got != v.layer.Digest {
		return fmt.Errorf("blob does not match its digest %s (got %s)", v.layer.Digest, got)
	}
	if v.diffHash == nil {
		return nil // uncompressed, and its digest is its diff ID: checked above
	}
	if got := v.diffHash.Digest(); got != v.layer.DiffID {
		return fmt.Errorf("uncompressed layer does not match its diff ID %s (got %s)", v.layer.DiffID, got)
	}
	return nil
}

// errNotVerified is what closing a layer before its end returns.
var errNotVerified = errors.New("closed before its end: not verified")

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }
