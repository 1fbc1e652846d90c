// Package sqfuse reads squashfs images and serves them over FUSE, made for
// immutable container images: the kernel is told that nothing ever changes
// (entries and attributes cached without expiry, page cache and directory
// listings kept across opens), so a warm pass never reaches this process, and
// a cold one decompresses on several threads.
//
// The reader covers what tar2sqfs and mksquashfs write (squashfs 4.0): zstd,
// gzip, xz, lzma and lz4 compression (not lzo), fragments, sparse blocks,
// hard links, symlinks, devices, fifos, sockets, extended attributes.
package sqfuse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// superblock is the first 96 bytes of a squashfs image (all little-endian).
type superblock struct {
	Magic              uint32
	InodeCount         uint32
	ModTime            uint32
	BlockSize          uint32
	FragmentCount      uint32
	Compression        uint16
	BlockLog           uint16
	Flags              uint16
	IDCount            uint16
	VersionMajor       uint16
	VersionMinor       uint16
	RootInode          uint64
	BytesUsed          uint64
	IDTableStart       uint64
	XattrIDTableStart  uint64
	InodeTableStart    uint64
	DirTableStart      uint64
	FragmentTableStart uint64
	ExportTableStart   uint64
}

const (
	superblockSize = 96
	magic          = 0x73717368 // "hsqs"
	noTable        = ^uint64(0) // an absent optional table
	flagNoXattrs   = 0x0200
)

// ErrFormat says that the file is not a squashfs this reader can serve.
var ErrFormat = errors.New("squashfs")

// Image is an open squashfs image. It is safe for concurrent use: every
// cache is guarded, and the file is read with ReadAt only.
type Image struct {
	r      io.ReaderAt
	base   int64 // where the squashfs starts in r (SIF images)
	sb     superblock
	dec    decompressor
	ids    []uint32
	frags  []fragment // the fragment table, read at open (16 bytes each)
	xattrs *xattrTable

	meta   *blockCache // decompressed metadata blocks, by position
	data   *blockCache // decompressed data and fragment blocks, by position
	inodes *inodeCache
	dirs   *dirCache
	pre    prefetcher
}

// fragment is an entry of the fragment table: where a block of file tails is.
type fragment struct {
	start uint64
	size  uint32 // on disk, with the "uncompressed" bit
}

// Open reads the super block and the small tables of the squashfs at offset
// base in r. Nothing else is read until asked for.
func Open(r io.ReaderAt, base int64) (*Image, error) {
	img := &Image{r: r, base: base}
	buf := make([]byte, superblockSize)
	if _, err := r.ReadAt(buf, base); err != nil {
		return nil, fmt.Errorf("%w: reading the super block: %v", ErrFormat, err)
	}
	if _, err := binary.Decode(buf, binary.LittleEndian, &img.sb); err != nil {
		return nil, err
	}
	sb := &img.sb
	switch {
	case sb.Magic != magic:
		return nil, fmt.Errorf("%w: bad magic (not a squashfs file)", ErrFormat)
	case sb.VersionMajor != 4 || sb.VersionMinor != 0:
		return nil, fmt.Errorf("%w: version %d.%d, want 4.0", ErrFormat, sb.VersionMajor, sb.VersionMinor)
	case sb.BlockSize < 4096 || sb.BlockSize > 1<<20 || bits.OnesCount32(sb.BlockSize) != 1 ||
		uint32(1)<<sb.BlockLog != sb.BlockSize:
		return nil, fmt.Errorf("%w: bad block size %d", ErrFormat, sb.BlockSize)
	}
	if err := img.checkLength(); err != nil {
		return nil, err
	}
	dec, err := newDecompressor(sb.Compression)
	if err != nil {
		return nil, err
	}
	img.dec = dec
	img.meta = newBlockCache(32 << 20)
	img.data = newBlockCache(32 << 20)
	img.inodes = newInodeCache(1 << 18)
	img.dirs = newDirCache(1 << 20)
	if err := img.readIDs(); err != nil {
		return nil, fmt.Errorf("%w: id table: %v", ErrFormat, err)
	}
	if err := img.readFragments(); err != nil {
		return nil, fmt.Errorf("%w: fragment table: %v", ErrFormat, err)
	}
	if err := img.readXattrTable(); err != nil {
		return nil, fmt.Errorf("%w: xattr table: %v", ErrFormat, err)
	}
	return img, nil
}

// Compression names the image's compressor.
func (img *Image) Compression() string { return compressionName(img.sb.Compression) }

// BlockSize is the image's data block size.
func (img *Image) BlockSize() uint32 { return img.sb.BlockSize }

// checkLength makes sure that the file holds the bytes_used the super block
// claims: every other size and count is then bounded by it (readAt refuses
// what lies beyond), so that a forged header cannot make the reader
// allocate for data that is not there.
func (img *Image) checkLength() error {
	if img.sb.BytesUsed < superblockSize || img.sb.BytesUsed > 1<<56 {
		return fmt.Errorf("%w: corrupt image: bytes_used %d", ErrFormat, img.sb.BytesUsed)
	}
	var last [1]byte
	n, err := img.r.ReadAt(last[:], img.base+int64(img.sb.BytesUsed)-1)
	switch {
	case n == 1:
		return nil
	case err == nil || errors.Is(err, io.EOF):
		return fmt.Errorf("%w: corrupt image: truncated (the super block says %d bytes)", ErrFormat, img.sb.BytesUsed)
	}
	return err
}

// readAt reads len(p) bytes at offset off of the squashfs.
func (img *Image) readAt(p []byte, off uint64) error {
	if off > img.sb.BytesUsed || uint64(len(p)) > img.sb.BytesUsed-off {
		return fmt.Errorf("%w: read past the end of the image (offset %d)", ErrFormat, off)
	}
	// A ReaderAt may return io.EOF with the last bytes: only a short read is
	// a truncated image.
	if n, err := img.r.ReadAt(p, img.base+int64(off)); n < len(p) {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: image truncated at offset %d", ErrFormat, off)
		}
		return err
	}
	return nil
}

// readTable reads a table stored as metadata blocks that an index of block
// positions (little-endian u64, at indexStart) points to: the id, fragment
// and xattr id tables. It returns the first n bytes of the table. n comes
// from the super block: the index must fit in the image before anything is
// allocated, and the blocks it lists must be distinct, in order, before it
// (as writers store them), so that the table is bounded by the file's size.
func (img *Image) readTable(indexStart uint64, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	blocks := (n + metaBlockSize - 1) / metaBlockSize
	if indexStart > img.sb.BytesUsed || blocks > (img.sb.BytesUsed-indexStart)/8 {
		return nil, fmt.Errorf("%w: corrupt image: a table of %d bytes does not fit in the image", ErrFormat, n)
	}
	index := make([]byte, 8*blocks)
	if err := img.readAt(index, indexStart); err != nil {
		return nil, err
	}
	var out []byte
	prev := uint64(0)
	for i := range blocks {
		pos := binary.LittleEndian.Uint64(index[8*i:])
		if pos >= indexStart || (i > 0 && pos <= prev) {
			return nil, fmt.Errorf("%w: corrupt image: table block %d at %d", ErrFormat, i, pos)
		}
		prev = pos
		b, _, err := img.metaBlock(pos)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	if uint64(len(out)) < n {
		return nil, fmt.Errorf("%w: table shorter than its entries", ErrFormat)
	}
	return out[:n], nil
}

func (img *Image) readIDs() error {
	b, err := img.readTable(img.sb.IDTableStart, 4*uint64(img.sb.IDCount))
	if err != nil {
		return err
	}
	img.ids = make([]uint32, img.sb.IDCount)
	for i := range img.ids {
		img.ids[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nil
}

func (img *Image) readFragments() error {
	if img.sb.FragmentCount == 0 || img.sb.FragmentTableStart == noTable {
		return nil
	}
	b, err := img.readTable(img.sb.FragmentTableStart, 16*uint64(img.sb.FragmentCount))
	if err != nil {
		return err
	}
	img.frags = make([]fragment, img.sb.FragmentCount)
	for i := range img.frags {
		img.frags[i] = fragment{binary.LittleEndian.Uint64(b[16*i:]), binary.LittleEndian.Uint32(b[16*i+8:])}
	}
	return nil
}

// id returns the uid or gid at index i of the id table.
func (img *Image) id(i uint16) (uint32, error) {
	if int(i) >= len(img.ids) {
		return 0, fmt.Errorf("%w: id index %d out of range", ErrFormat, i)
	}
	return img.ids[i], nil
}
