package rootfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression of a layer stream, detected from its first bytes.
type Compression string

// Compressions told apart by Detect.
const (
	Uncompressed Compression = "none"
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Xz           Compression = "xz"
	Bzip2        Compression = "bzip2"
)

var magics = []struct {
	c     Compression
	magic []byte
}{
	{Gzip, []byte{0x1f, 0x8b}},
	{Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{Xz, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{Bzip2, []byte{'B', 'Z', 'h'}},
}

// Detect tells the compression of a stream from its first bytes. Media types
// are not trusted: registries and tools are known to mislabel layers.
func Detect(head []byte) Compression {
	for _, m := range magics {
		if bytes.HasPrefix(head, m.magic) {
			return m.c
		}
	}
	return Uncompressed
}

// maxZstdWindow bounds the memory a hostile zstd frame can make us allocate;
// 128 MiB covers `zstd --long` (window log 27).
const maxZstdWindow = 128 << 20

// Decompress returns the uncompressed content of r, whatever its compression
// (gzip, zstd or none). A truncated or corrupt compressed stream gives an
// error from Read, never a silent early EOF. Close releases the decoder; it
// does not close r.
func Decompress(r io.Reader) (io.ReadCloser, error) {
	rc, _, err := DecompressDetect(r)
	return rc, err
}

// DecompressDetect is Decompress, also returning the compression it found.
func DecompressDetect(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("reading stream header: %w", err)
	}
	c := Detect(head)
	rc, err := decoder(br, c)
	return rc, c, err
}

func decoder(br *bufio.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading gzip header: %w", err)
		}
		return zr, nil
	case Zstd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("starting zstd decoder: %w", err)
		}
		return zstdCloser{zr}, nil
	case Uncompressed:
		return io.NopCloser(br), nil
	default:
		return nil, fmt.Errorf("%s compression is not supported (gzip, zstd or none)", c)
	}
}

// zstdCloser adapts zstd.Decoder, whose Close returns nothing.
type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return n, fmt.Errorf("truncated zstd stream: %w", err)
	}
	return n, err
}

func (z zstdCloser) Close() error { z.d.Close(); return nil }
