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

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// ErrFormat says that the file is not a squashfs this reader can serve.
var ErrFormat = sqfsformat.ErrFormat

// Image is an open squashfs image. It is safe for concurrent use: every
// cache is guarded, and the file is read with ReadAt only.
type Image struct {
	r      io.ReaderAt
	base   int64 // where the squashfs starts in r (SIF images)
	sb     sqfsformat.Superblock
	dec    decompressor
	ids    []uint32
	frags  []fragment // the fragment table, read at open (16 bytes each)
	xattrs *xattrTable

	meta   *blockCache // decompressed metadata blocks, by position
	data   *blockCache // decompressed data and fragment blocks, by position
	inodes *inodeCache
	dirs   *dirCache
	pre    prefetcher
	tables *preload // the inode and directory tables, when preloaded
}

// fragment is an entry of the fragment table: where a block of file tails is.
type fragment struct {
	start uint64
	size  uint32 // on disk, with the "uncompressed" bit
}

// Open reads the super block and the small tables of the squashfs at offset
// base in r. Nothing else is read until asked for.
func Open(r io.ReaderAt, base int64) (*Image, error) {
	sb, err := sqfsformat.ReadSuperblock(r, base)
	if err != nil {
		return nil, err
	}
	img := &Image{r: r, base: base, sb: sb}
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
		return nil, tableErr("id table", err)
	}
	if err := img.readFragments(); err != nil {
		return nil, tableErr("fragment table", err)
	}
	if err := img.readXattrTable(); err != nil {
		return nil, tableErr("xattr table", err)
	}
	return img, nil
}

// tableErr names the table an error is about, once marked as a format error.
func tableErr(table string, err error) error {
	if errors.Is(err, ErrFormat) {
		return fmt.Errorf("%s: %w", table, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrFormat, table, err)
}

// Compression names the image's compressor.
func (img *Image) Compression() string { return img.sb.CompressorName() }

// BlockSize is the image's data block size.
func (img *Image) BlockSize() uint32 { return img.sb.BlockSize }

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
	if img.sb.FragmentCount == 0 || img.sb.FragmentTableStart == sqfsformat.NoTable {
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
