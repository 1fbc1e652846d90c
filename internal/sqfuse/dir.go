package sqfuse

import (
	"encoding/binary"
	"fmt"
	"sort"
	"syscall"
)

// dirEntry is one name of a directory listing.
type dirEntry struct {
	name string
	ref  uint64 // the child's inode reference
	ino  uint32
	kind uint8 // basic inode type
}

// readDir returns the listing of directory in, parsed once and cached.
// squashfs writers store names sorted (the kernel's lookup relies on it), so
// lookups bisect.
func (img *Image) readDir(in *inode) ([]dirEntry, error) {
	if in.kind != typeDir {
		return nil, syscall.ENOTDIR
	}
	if d, ok := img.dirs.get(in.ref); ok {
		return d, nil
	}
	d, err := img.parseDirListing(in)
	if err != nil {
		return nil, err
	}
	img.dirs.put(in.ref, d)
	return d, nil
}

// parseDirListing reads a listing: runs of entries, each run after a header
// (count-1, the inode block of its entries, a base inode number); each entry
// is an offset in that block, an inode number delta, a type and a name.
// The stored size counts 3 bytes more than the listing (for . and ..).
func (img *Image) parseDirListing(in *inode) ([]dirEntry, error) {
	if in.size <= 3 {
		return nil, nil
	}
	m, err := img.metaReaderAt(img.sb.DirTableStart+uint64(in.dirBlock), int(in.dirOff))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	left := int(in.size) - 3
	var out []dirEntry
	for left > 0 {
		h, err := m.read(12)
		if err != nil {
			return nil, err
		}
		count, block, base := int(le.Uint32(h))+1, uint64(le.Uint32(h[4:])), le.Uint32(h[8:])
		left -= 12
		if count > 256 || left < 8*count {
			return nil, fmt.Errorf("%w: bad directory header in inode %#x", ErrFormat, in.ref)
		}
		for range count {
			e, err := m.read(8)
			if err != nil {
				return nil, err
			}
			off, delta, t, nlen := le.Uint16(e), int16(le.Uint16(e[2:])), le.Uint16(e[4:]), int(le.Uint16(e[6:]))+1
			name, err := m.read(nlen)
			if err != nil {
				return nil, err
			}
			left -= 8 + nlen
			if t < typeDir || t > typeSocket+7 {
				return nil, fmt.Errorf("%w: bad entry type %d in directory %#x", ErrFormat, t, in.ref)
			}
			if t > typeSocket {
				t -= typeSocket
			}
			out = append(out, dirEntry{name: string(name), ref: block<<16 | uint64(off),
				ino: uint32(int64(base) + int64(delta)), kind: uint8(t)})
		}
	}
	if !sort.SliceIsSorted(out, func(i, j int) bool { return out[i].name < out[j].name }) {
		sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	}
	return out, nil
}

// lookup finds name in directory in.
func (img *Image) lookup(in *inode, name string) (*dirEntry, error) {
	d, err := img.readDir(in)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(d), func(i int) bool { return d[i].name >= name })
	if i == len(d) || d[i].name != name {
		return nil, syscall.ENOENT
	}
	return &d[i], nil
}
