package sqfuse

import (
	"fmt"
	"sync"
	"syscall"
)

// dataBlock returns the decompressed data block at pos whose size on disk is
// size (with the uncompressed bit); it holds at most want bytes.
func (img *Image) dataBlock(pos uint64, size uint32, want int) ([]byte, error) {
	b, _, err := img.data.get(pos, func() ([]byte, uint64, error) {
		n := int(size &^ blockUncompressed)
		if n > int(img.sb.BlockSize) {
			return nil, 0, fmt.Errorf("%w: data block of %d bytes at %d", ErrFormat, n, pos)
		}
		raw := make([]byte, n)
		if err := img.readAt(raw, pos); err != nil {
			return nil, 0, err
		}
		if size&blockUncompressed != 0 {
			return raw, 0, nil
		}
		out, err := img.dec(make([]byte, 0, img.sb.BlockSize), raw)
		if err == nil && len(out) > int(img.sb.BlockSize) {
			err = fmt.Errorf("holds more than %d bytes", img.sb.BlockSize)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: data block at %d: %v", ErrFormat, pos, err)
		}
		return out, 0, nil
	})
	if err != nil {
		return nil, err
	}
	if len(b) < want {
		return nil, fmt.Errorf("%w: data block at %d holds %d bytes, want %d", ErrFormat, pos, len(b), want)
	}
	return b[:want], nil
}

// readFile copies the bytes of regular file in at off into p, and returns how
// many it copied (fewer only at the end of the file).
func (img *Image) readFile(in *inode, p []byte, off uint64) (int, error) {
	if in.kind != typeFile {
		return 0, syscall.EISDIR
	}
	if off >= in.size {
		return 0, nil
	}
	if uint64(len(p)) > in.size-off {
		p = p[:in.size-off]
	}
	bs := uint64(img.sb.BlockSize)
	n := 0
	for n < len(p) {
		at := off + uint64(n)
		i := at / bs
		inBlock := int(at % bs)
		blockLen := int(min(bs, in.size-i*bs)) // the last block or tail is short
		var b []byte
		var err error
		switch {
		case i < uint64(len(in.blocks)) && in.blocks[i]&^blockUncompressed == 0:
			b = zeros(blockLen) // sparse
		case i < uint64(len(in.blocks)):
			b, err = img.dataBlock(in.blockAt[i], in.blocks[i], blockLen)
		default:
			b, err = img.tail(in, blockLen)
		}
		if err != nil {
			return n, err
		}
		k := copy(p[n:], b[inBlock:])
		if k == 0 { // a corrupt image must not loop forever
			return n, fmt.Errorf("%w: inode %#x: short block at %d", ErrFormat, in.ref, at)
		}
		n += k
	}
	return n, nil
}

// tail returns the last, partial block of a file, kept in a fragment block.
func (img *Image) tail(in *inode, n int) ([]byte, error) {
	if in.frag == noFragment || int(in.frag) >= len(img.frags) {
		return nil, fmt.Errorf("%w: inode %#x: no block for its tail", ErrFormat, in.ref)
	}
	f := img.frags[in.frag]
	b, err := img.dataBlock(f.start, f.size, int(in.fragOff)+n)
	if err != nil {
		return nil, err
	}
	return b[in.fragOff:], nil
}

// zeroBlock is made on first use: every pcocc process links this package.
var zeroBlock = sync.OnceValue(func() []byte { return make([]byte, 1<<20) })

func zeros(n int) []byte { return zeroBlock()[:n] }
