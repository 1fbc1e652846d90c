package sqfuse

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// decompressor decompresses one block into dst (its capacity is the most the
// block may hold) and returns the result. It is safe for concurrent use.
type decompressor func(dst, src []byte) ([]byte, error)

// ErrUnsupported says that the image uses a compressor this reader lacks
// (lzo): squashfuse_ll can serve it.
var ErrUnsupported = fmt.Errorf("%w: unsupported compressor", ErrFormat)

func newDecompressor(id uint16) (decompressor, error) {
	switch id {
	case sqfsformat.Zstd:
		// DecodeAll is safe for concurrent use; one decoder per CPU.
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)),
			zstd.WithDecoderMaxMemory(1<<24))
		if err != nil {
			return nil, err
		}
		return func(dst, src []byte) ([]byte, error) { return d.DecodeAll(src, dst[:0]) }, nil
	case sqfsformat.Gzip:
		return zlibDecompress, nil
	case sqfsformat.Lz4:
		return func(dst, src []byte) ([]byte, error) {
			n, err := lz4.UncompressBlock(src, dst[:cap(dst)])
			return dst[:n], err
		}, nil
	case sqfsformat.Xz:
		return streamDecompress(func(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }), nil
	case sqfsformat.Lzma:
		return streamDecompress(func(r io.Reader) (io.Reader, error) { return lzma.NewReader(r) }), nil
	}
	return nil, fmt.Errorf("%w %s", ErrUnsupported, sqfsformat.CompressorName(id))
}

// zlib readers are reused: allocating one per block costs more than the
// decompression of a small block.
var zlibPool sync.Pool

func zlibDecompress(dst, src []byte) ([]byte, error) {
	br := bytes.NewReader(src)
	var zr io.ReadCloser
	if v := zlibPool.Get(); v != nil {
		zr = v.(io.ReadCloser)
		if err := zr.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
	} else {
		var err error
		if zr, err = zlib.NewReader(br); err != nil {
			return nil, err
		}
	}
	defer zlibPool.Put(zr)
	return readFull(dst, zr)
}

// streamDecompress adapts a stream decoder (xz, lzma: rare, slow anyway).
func streamDecompress(open func(io.Reader) (io.Reader, error)) decompressor {
	return func(dst, src []byte) ([]byte, error) {
		r, err := open(bytes.NewReader(src))
		if err != nil {
			return nil, err
		}
		return readFull(dst, r)
	}
}

// readFull reads r to its end into dst's capacity; more data is an error.
func readFull(dst []byte, r io.Reader) ([]byte, error) {
	buf := dst[:cap(dst)]
	n, err := io.ReadFull(r, buf)
	switch err {
	case io.ErrUnexpectedEOF, io.EOF:
		return buf[:n], nil
	case nil:
		var one [1]byte
		if m, _ := r.Read(one[:]); m > 0 {
			return nil, fmt.Errorf("%w: block larger than %d bytes", ErrFormat, cap(dst))
		}
		return buf[:n], nil
	}
	return nil, err
}
