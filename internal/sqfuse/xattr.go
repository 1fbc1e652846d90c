package sqfuse

import (
	"encoding/binary"
	"fmt"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// xattrTable is the xattr id table: for each xattr index an inode holds,
// where its key/value list starts and how many pairs it has.
type xattrTable struct {
	start uint64 // the key/value metadata stream
	ids   []xattrID
}

type xattrID struct {
	ref   uint64
	count uint32
}

var xattrPrefixes = [...]string{"user.", "trusted.", "security."}

const xattrValueOutOfLine = 0x100

func (img *Image) readXattrTable() error {
	sb := &img.sb
	if sb.XattrIDTableStart == sqfsformat.NoTable || sb.Flags&sqfsformat.FlagNoXattrs != 0 {
		return nil
	}
	var h [16]byte
	if err := img.readAt(h[:], sb.XattrIDTableStart); err != nil {
		return err
	}
	le := binary.LittleEndian
	count := le.Uint32(h[8:])
	if uint64(count) > uint64(sb.InodeCount)+1 {
		return fmt.Errorf("%w: corrupt image: %d xattr ids for %d inodes", ErrFormat, count, sb.InodeCount)
	}
	// Read (and so bounded by the image) before anything is allocated for count.
	b, err := img.readTable(sb.XattrIDTableStart+16, 16*uint64(count))
	if err != nil {
		return err
	}
	t := &xattrTable{start: le.Uint64(h[:]), ids: make([]xattrID, count)}
	for i := range t.ids {
		t.ids[i] = xattrID{le.Uint64(b[16*i:]), le.Uint32(b[16*i+8:])}
	}
	if len(t.ids) > 0 {
		img.xattrs = t
	}
	return nil
}

// hasXattrs says whether any inode has extended attributes: when none does,
// the FUSE server answers ENOSYS once and the kernel never asks again.
func (img *Image) hasXattrs() bool { return img.xattrs != nil }

// xattrList returns the names and values of the attributes of inode in.
func (img *Image) xattrList(in *inode) (names []string, values [][]byte, err error) {
	t := img.xattrs
	if t == nil || in.xattr == noXattr {
		return nil, nil, nil
	}
	if int(in.xattr) >= len(t.ids) {
		return nil, nil, fmt.Errorf("%w: xattr index %d out of range", ErrFormat, in.xattr)
	}
	id := t.ids[in.xattr]
	m, err := img.metaReaderAt(t.start+id.ref>>16, int(id.ref&0xffff))
	if err != nil {
		return nil, nil, err
	}
	le := binary.LittleEndian
	listed := 0
	for range id.count {
		k, err := m.read(4)
		if err != nil {
			return nil, nil, err
		}
		typ, nlen := le.Uint16(k), int(le.Uint16(k[2:]))
		name, err := m.read(nlen)
		if err != nil {
			return nil, nil, err
		}
		if int(typ&0xff) >= len(xattrPrefixes) {
			return nil, nil, fmt.Errorf("%w: xattr type %d", ErrFormat, typ)
		}
		full := xattrPrefixes[typ&0xff] + string(name)
		// The kernel lists at most 64 KiB of names (XATTR_LIST_MAX): more is
		// a count a damaged image made up.
		if listed += len(full) + 1; listed > 1<<16 {
			return nil, nil, fmt.Errorf("%w: corrupt image: xattr names of inode %#x exceed 64 KiB", ErrFormat, in.ref)
		}
		v, err := img.xattrValue(m, typ&xattrValueOutOfLine != 0)
		if err != nil {
			return nil, nil, err
		}
		names, values = append(names, full), append(values, v)
	}
	return names, values, nil
}

// xattrValue reads a value stored after its key, or elsewhere when the key
// says so (writers share large identical values).
func (img *Image) xattrValue(m *metaReader, outOfLine bool) ([]byte, error) {
	n, err := m.u32()
	if err != nil {
		return nil, err
	}
	if n > 1<<16 {
		return nil, fmt.Errorf("%w: xattr value of %d bytes", ErrFormat, n)
	}
	v, err := m.read(int(n))
	if err != nil {
		return nil, err
	}
	if !outOfLine {
		return append([]byte(nil), v...), nil
	}
	if n != 8 {
		return nil, fmt.Errorf("%w: out-of-line xattr reference of %d bytes", ErrFormat, n)
	}
	ref := binary.LittleEndian.Uint64(v)
	vm, err := img.metaReaderAt(img.xattrs.start+ref>>16, int(ref&0xffff))
	if err != nil {
		return nil, err
	}
	return img.xattrValue(vm, false)
}
