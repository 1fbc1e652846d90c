package sqfuse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// craft is a hand-made squashfs of one directory holding one file, written
// without a tool so that any field can be forged: metadata blocks are stored
// uncompressed, and the file has no data (its block list is cut short when
// its size is forged). The layout is super block, inode table, directory
// table, id table, xattr id table.
type craft struct {
	fileSize   uint64 // the file's size in its extended inode
	bytesUsed  uint64 // 0: the real length
	xattrIDs   uint32 // the xattr id table's count (0: no table)
	inodeCount uint32 // 0: the real 2
	fragments  uint32 // the fragment count (its table: the id table's)
	// bigMeta: the inode table is one zstd block that decompresses to more
	// than a metadata block may hold.
	bigMeta bool
}

func metaBlockOf(p []byte) []byte {
	return append(binary.LittleEndian.AppendUint16(nil, 0x8000|uint16(len(p))), p...)
}

func (c craft) image() []byte {
	le := binary.LittleEndian
	const name = "f"
	// Inode table: the root directory (basic, at offset 0), then the file
	// (extended, at offset 32) with no block list.
	var it []byte
	it = le.AppendUint16(it, typeDir)
	it = le.AppendUint16(it, 0o755)
	it = append(it, 0, 0, 0, 0) // uid, gid index
	it = le.AppendUint32(it, 0) // mtime
	it = le.AppendUint32(it, 1) // ino
	it = le.AppendUint32(it, 0) // dir block
	it = le.AppendUint32(it, 2) // nlink
	it = le.AppendUint16(it, uint16(12+8+len(name)+3))
	it = le.AppendUint16(it, 0) // dir offset
	it = le.AppendUint32(it, 3) // parent
	it = le.AppendUint16(it, typeFile+typeSocket)
	it = le.AppendUint16(it, 0o644)
	it = append(it, 0, 0, 0, 0)
	it = le.AppendUint32(it, 0)
	it = le.AppendUint32(it, 2)
	it = le.AppendUint64(it, 0) // blocks start
	it = le.AppendUint64(it, c.fileSize)
	it = le.AppendUint64(it, 0) // sparse
	it = le.AppendUint32(it, 1) // nlink
	it = le.AppendUint32(it, noFragment)
	it = le.AppendUint32(it, 0)
	it = le.AppendUint32(it, noXattr)
	// Directory table: one header, one entry.
	var dt []byte
	dt = le.AppendUint32(dt, 0) // count-1
	dt = le.AppendUint32(dt, 0) // inode block
	dt = le.AppendUint32(dt, 1) // base inode number
	dt = le.AppendUint16(dt, 32)
	dt = le.AppendUint16(dt, 1) // inode number delta
	dt = le.AppendUint16(dt, typeFile)
	dt = le.AppendUint16(dt, uint16(len(name)-1))
	dt = append(dt, name...)

	img := make([]byte, sqfsformat.SuperblockSize)
	sb := sqfsformat.Superblock{Magic: 0x73717368, InodeCount: 2, BlockSize: 1 << 17, BlockLog: 17, Compression: sqfsformat.Zstd,
		IDCount: 1, VersionMajor: 4, XattrIDTableStart: sqfsformat.NoTable, FragmentTableStart: sqfsformat.NoTable,
		ExportTableStart: sqfsformat.NoTable, FragmentCount: c.fragments}
	if c.inodeCount != 0 {
		sb.InodeCount = c.inodeCount
	}
	sb.InodeTableStart = uint64(len(img))
	if c.bigMeta {
		enc, _ := zstd.NewWriter(nil)
		z := enc.EncodeAll(append(it, make([]byte, 2*metaBlockSize)...), nil)
		img = binary.LittleEndian.AppendUint16(img, uint16(len(z)))
		img = append(img, z...)
	} else {
		img = append(img, metaBlockOf(it)...)
	}
	sb.DirTableStart = uint64(len(img))
	img = append(img, metaBlockOf(dt)...)
	idBlock := uint64(len(img))
	img = append(img, metaBlockOf(make([]byte, 4))...)
	sb.IDTableStart = uint64(len(img))
	img = le.AppendUint64(img, idBlock)
	if c.fragments != 0 {
		sb.FragmentTableStart = sb.IDTableStart
	}
	if c.xattrIDs != 0 {
		sb.XattrIDTableStart = uint64(len(img))
		img = le.AppendUint64(img, uint64(len(img)))
		img = le.AppendUint32(img, c.xattrIDs)
		img = le.AppendUint32(img, 0)
		img = le.AppendUint64(img, idBlock)
	}
	sb.BytesUsed = uint64(len(img))
	if c.bytesUsed != 0 {
		sb.BytesUsed = c.bytesUsed
	}
	if _, err := binary.Encode(img, le, &sb); err != nil {
		panic(err)
	}
	return img
}

// crafted are the damaged images the reader must refuse, each with a clean
// error and without allocating for what the image only claims.
var crafted = map[string]craft{
	"huge file, forged bytes_used":  {fileSize: 1 << 60, bytesUsed: 1 << 62},
	"huge file":                     {fileSize: 1 << 60},
	"xattr ids 0xffffffff":          {xattrIDs: 0xffffffff},
	"xattr ids, forged inode count": {xattrIDs: 0xffffffff, inodeCount: 0xffffffff},
	"fragments 0xffffffff":          {fragments: 0xffffffff},
	"metadata block over 8 KiB":     {bigMeta: true},
	"file larger than its blocks":   {fileSize: 1 << 20},
}

// TestCraftedImage: a sound crafted image reads back, so that the damaged
// variants below fail for their damage only.
func TestCraftedImage(t *testing.T) {
	img, err := Open(bytes.NewReader(craft{fileSize: 0}.image()), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := exercise(img); err != nil {
		t.Fatal(err)
	}
}

// eofAtEnd is a ReaderAt that returns io.EOF with the last bytes, as the
// io.ReaderAt contract allows.
type eofAtEnd struct{ *bytes.Reader }

func (r eofAtEnd) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.Reader.ReadAt(p, off)
	if err == nil && off+int64(n) == r.Size() {
		err = io.EOF
	}
	return n, err
}

// TestReaderAtEOF: a full read that ends with io.EOF is not a truncation.
func TestReaderAtEOF(t *testing.T) {
	img, err := Open(eofAtEnd{bytes.NewReader(craft{}.image())}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := exercise(img); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptImages: sizes and counts that the file cannot hold fail with
// ErrFormat before anything is allocated for them (before the fix, the
// runtime died "out of memory").
func TestCorruptImages(t *testing.T) {
	for name, c := range crafted {
		t.Run(name, func(t *testing.T) {
			raw := c.image()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			img, err := Open(bytes.NewReader(raw), 0)
			if err == nil {
				err = exercise(img)
			}
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrFormat) {
				t.Errorf("got %v, want ErrFormat", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
				t.Errorf("allocated %d bytes for a %d-byte image", n, len(raw))
			}
		})
	}
}

// exercise reads all of an image the way a server or an unpack would: every
// inode, listing and xattr, and the start of every file.
func exercise(img *Image) error {
	seen := map[uint64]bool{}
	var walk func(ref uint64) error
	walk = func(ref uint64) error {
		if seen[ref] || len(seen) > 10000 {
			return nil
		}
		seen[ref] = true
		in, err := img.inode(ref)
		if err != nil {
			return err
		}
		if _, _, err := img.xattrList(in); err != nil {
			return err
		}
		switch in.kind {
		case typeFile:
			_, err := img.readFile(in, make([]byte, 1<<17), 0)
			return err
		case typeDir:
			ents, err := img.readDir(in)
			if err != nil {
				return err
			}
			for _, e := range ents {
				if err := walk(e.ref); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(img.sb.RootInode)
}

// FuzzReader: no input makes the reader panic, hang or allocate without
// bound. The seeds under testdata/fuzz/FuzzReader are the crafted images
// above (regenerate them with PCOCC_WRITE_SEEDS=1); `go test -fuzz
// FuzzReader ./internal/sqfuse` searches further.
func FuzzReader(f *testing.F) {
	f.Add(craft{}.image())
	if os.Getenv("PCOCC_WRITE_SEEDS") != "" {
		writeSeeds(f)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		img, err := Open(bytes.NewReader(raw), 0)
		if err != nil {
			return
		}
		_ = exercise(img)
	})
}

func writeSeeds(f *testing.F) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	i := 0
	for _, c := range []craft{crafted["huge file, forged bytes_used"], crafted["xattr ids 0xffffffff"],
		crafted["xattr ids, forged inode count"], crafted["fragments 0xffffffff"],
		crafted["metadata block over 8 KiB"]} {
		body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(c.image())) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, "crafted-"+strconv.Itoa(i)), []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
		i++
	}
}
