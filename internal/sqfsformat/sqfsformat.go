// Package sqfsformat holds what pcocc knows of the squashfs 4.0 on-disk
// format's header: the magic, the super block, its compressor ids and flags,
// and the checks a super block must pass before anything else of the image
// is trusted. It is a leaf (standard library only) so that every package
// that meets a squashfs (the FUSE reader, the importer, SIF, the mounters)
// shares one definition, and so that the launch path can check an image
// without linking a decompressor.
package sqfsformat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// Magic is the first four bytes of every squashfs ("hsqs": 0x73717368
// little-endian).
const Magic = "hsqs"

// SuperblockSize is the size of the super block at the start of an image.
const SuperblockSize = 96

// NoTable is the position of an absent optional table (fragments, export,
// xattrs).
const NoTable = ^uint64(0)

// Compressor ids of the super block.
const (
	Gzip = 1
	Lzma = 2
	Lzo  = 3
	Xz   = 4
	Lz4  = 5
	Zstd = 6
)

// Flags of the super block that a reader acts on.
const (
	FlagNoXattrs = 0x0200
)

var compressors = [...]string{Gzip: "gzip", Lzma: "lzma", Lzo: "lzo", Xz: "xz", Lz4: "lz4", Zstd: "zstd"}

// CompressorName names compressor id, "" when the id is unknown.
func CompressorName(id uint16) string {
	if int(id) < len(compressors) {
		return compressors[id]
	}
	return ""
}

// Superblock is the super block of a squashfs 4.0 image (all little-endian
// on disk, in this order).
type Superblock struct {
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

// ErrFormat says that a file is not a squashfs pcocc can read; the errors
// of this package wrap it, and say what is wrong in one line.
var ErrFormat = errors.New("squashfs")

// ErrLimit says that an image unpacks to more bytes than the caller
// allowed (internal/unpack's budget): here, so that the unpack cache can tell
// it from other failures without linking the reader (sqfuse) that finds it.
var ErrLimit = errors.New("unpacks to more than the room allowed for it")

// ErrNotSquashfs says that a file does not start with the magic: most
// likely not an image at all (or one overwritten), rather than a damaged one.
var ErrNotSquashfs error = &formatError{"squashfs: bad magic (not a squashfs file)"}

// formatError is an ErrFormat made without fmt: a package variable is made
// at every start of every program that links the package (pcocc run's
// included), and fmt.Errorf there costs more than all the rest of it.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return ErrFormat }

// Parse decodes and checks a super block: the magic, the version (4.0), the
// block size, the compressor id, and tables that start inside the image in
// the order writers put them. It does not look beyond the 96 bytes: a caller
// with the file checks that it holds BytesUsed bytes (ReadSuperblock does).
func Parse(b []byte) (Superblock, error) {
	var sb Superblock
	if len(b) < SuperblockSize {
		return sb, fmt.Errorf("%w: truncated super block (%d bytes)", ErrFormat, len(b))
	}
	if _, err := binary.Decode(b[:SuperblockSize], binary.LittleEndian, &sb); err != nil {
		return sb, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return sb, sb.Check()
}

// Check checks what Parse checks, for a super block built or changed in memory.
func (sb *Superblock) Check() error {
	switch {
	case sb.Magic != binary.LittleEndian.Uint32([]byte(Magic)):
		return ErrNotSquashfs
	case sb.VersionMajor != 4 || sb.VersionMinor != 0:
		return fmt.Errorf("%w: version %d.%d, want 4.0", ErrFormat, sb.VersionMajor, sb.VersionMinor)
	case sb.BlockSize < 4096 || sb.BlockSize > 1<<20 || bits.OnesCount32(sb.BlockSize) != 1 ||
		uint32(1)<<sb.BlockLog != sb.BlockSize:
		return fmt.Errorf("%w: bad block size %d", ErrFormat, sb.BlockSize)
	case CompressorName(sb.Compression) == "":
		return fmt.Errorf("%w: unknown compressor id %d", ErrFormat, sb.Compression)
	case sb.BytesUsed < SuperblockSize || sb.BytesUsed > 1<<56:
		return fmt.Errorf("%w: corrupt image: bytes_used %d", ErrFormat, sb.BytesUsed)
	case sb.InodeTableStart < SuperblockSize || sb.DirTableStart < sb.InodeTableStart ||
		sb.IDTableStart < sb.DirTableStart || sb.IDTableStart >= sb.BytesUsed:
		return fmt.Errorf("%w: corrupt image: tables out of order (inodes at %d, directories at %d, ids at %d, %d bytes)",
			ErrFormat, sb.InodeTableStart, sb.DirTableStart, sb.IDTableStart, sb.BytesUsed)
	}
	return nil
}

// CompressorName names the image's compressor.
func (sb *Superblock) CompressorName() string { return CompressorName(sb.Compression) }

// ReadSuperblock reads and checks the super block of the squashfs at offset
// base in r, and that r holds the BytesUsed bytes it claims: every other
// size and count of the image is then bounded by it, so that a forged header
// cannot make a reader allocate for data that is not there.
func ReadSuperblock(r io.ReaderAt, base int64) (Superblock, error) {
	buf := make([]byte, SuperblockSize)
	if n, err := r.ReadAt(buf, base); n < SuperblockSize {
		if n < len(Magic) || string(buf[:len(Magic)]) != Magic {
			return Superblock{}, ErrNotSquashfs // a short file of something else
		}
		if err == nil || errors.Is(err, io.EOF) {
			return Superblock{}, fmt.Errorf("%w: truncated super block (%d bytes)", ErrFormat, n)
		}
		return Superblock{}, fmt.Errorf("%w: reading the super block: %v", ErrFormat, err)
	}
	sb, err := Parse(buf)
	if err != nil {
		return sb, err
	}
	var last [1]byte
	n, err := r.ReadAt(last[:], base+int64(sb.BytesUsed)-1)
	switch {
	case n == 1:
		return sb, nil
	case err == nil || errors.Is(err, io.EOF):
		return sb, fmt.Errorf("%w: corrupt image: truncated (the super block says %d bytes)", ErrFormat, sb.BytesUsed)
	}
	return sb, fmt.Errorf("%w: %v", ErrFormat, err)
}
