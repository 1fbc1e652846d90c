package sqfuse

import (
	"encoding/binary"
	"fmt"
)

// metaBlockSize is the most a metadata block holds once decompressed.
const metaBlockSize = 8192

// metaBlock returns the decompressed metadata block at pos (from the start of
// the squashfs) and the position of the block after it: from the preloaded
// tables when it is one of theirs, else through the metadata cache.
func (img *Image) metaBlock(pos uint64) ([]byte, uint64, error) {
	c := img.tablesBlock(pos)
	if c == nil {
		c = img.meta
	}
	return c.get(pos, func() ([]byte, uint64, error) {
		var h [2]byte
		if err := img.readAt(h[:], pos); err != nil {
			return nil, 0, err
		}
		size := int(binary.LittleEndian.Uint16(h[:]) & 0x7fff)
		if size == 0 || size > metaBlockSize {
			return nil, 0, fmt.Errorf("%w: bad metadata block header at %d", ErrFormat, pos)
		}
		b := make([]byte, 2+size)
		if err := img.readAt(b, pos); err != nil {
			return nil, 0, err
		}
		return img.decodeMeta(b, pos)
	})
}

// decodeMeta decompresses the metadata block that b starts with (at pos in
// the image). A metadata block is a 16-bit header (size on disk; bit 15:
// stored uncompressed) and its data.
func (img *Image) decodeMeta(b []byte, pos uint64) ([]byte, uint64, error) {
	if len(b) < 2 {
		return nil, 0, fmt.Errorf("%w: bad metadata block header at %d", ErrFormat, pos)
	}
	hdr := binary.LittleEndian.Uint16(b)
	size := int(hdr & 0x7fff)
	if size == 0 || size > metaBlockSize || 2+size > len(b) {
		return nil, 0, fmt.Errorf("%w: bad metadata block header at %d", ErrFormat, pos)
	}
	raw := b[2 : 2+size]
	next := pos + 2 + uint64(size)
	if hdr&0x8000 != 0 {
		return append([]byte(nil), raw...), next, nil // not an alias of a buffer the caller drops
	}
	out, err := img.dec(make([]byte, 0, metaBlockSize), raw)
	if err == nil && len(out) > metaBlockSize {
		err = fmt.Errorf("holds more than %d bytes", metaBlockSize)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%w: metadata block at %d: %v", ErrFormat, pos, err)
	}
	return out, next, nil
}

// metaReader reads a stream of metadata that may cross block boundaries (an
// inode, a directory listing), starting at an offset in a block.
type metaReader struct {
	img  *Image
	blk  []byte
	next uint64
	off  int
}

func (img *Image) metaReaderAt(block uint64, off int) (*metaReader, error) {
	b, next, err := img.metaBlock(block)
	if err != nil {
		return nil, err
	}
	if off > len(b) {
		return nil, fmt.Errorf("%w: metadata offset %d past its block at %d", ErrFormat, off, block)
	}
	return &metaReader{img: img, blk: b, next: next, off: off}, nil
}

// read returns the next n bytes. They alias the cache when they sit in one
// block (the common case): callers copy what they keep.
func (m *metaReader) read(n int) ([]byte, error) {
	if m.off+n <= len(m.blk) {
		p := m.blk[m.off : m.off+n]
		m.off += n
		return p, nil
	}
	// n may come from a damaged image: grow with what the blocks really
	// hold rather than allocate n at once.
	out := make([]byte, 0, min(n, 2*metaBlockSize))
	for len(out) < n {
		if m.off == len(m.blk) {
			b, next, err := m.img.metaBlock(m.next)
			if err != nil {
				return nil, err
			}
			m.blk, m.next, m.off = b, next, 0
		}
		k := min(n-len(out), len(m.blk)-m.off)
		out = append(out, m.blk[m.off:m.off+k]...)
		m.off += k
	}
	return out, nil
}

func (m *metaReader) u32() (uint32, error) {
	p, err := m.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}
