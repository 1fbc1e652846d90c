package sqfuse

import (
	"encoding/binary"
	"fmt"
	"syscall"
)

// Inode types (the extended ones are basic+7).
const (
	typeDir     = 1
	typeFile    = 2
	typeSymlink = 3
	typeBlock   = 4
	typeChar    = 5
	typeFifo    = 6
	typeSocket  = 7
)

const (
	noFragment = 0xffffffff
	noXattr    = 0xffffffff
	// blockUncompressed marks a data block or fragment stored as is; the
	// low 24 bits are its size on disk (0: a sparse block of zeros).
	blockUncompressed = 1 << 24
)

// inode is a parsed squashfs inode.
type inode struct {
	ref   uint64 // position in the inode table: block << 16 | offset
	kind  uint8  // typeDir ... typeSocket
	mode  uint32 // syscall.S_IF* | permissions
	uid   uint32
	gid   uint32
	mtime uint32
	ino   uint32
	nlink uint32
	size  uint64
	xattr uint32
	rdev  uint32

	// regular files: where the blocks start, each block's size on disk
	// (with the uncompressed bit), the position of each block, the fragment
	// holding the tail (noFragment: none) and the tail's offset in it.
	start   uint64
	blocks  []uint32
	blockAt []uint64
	frag    uint32
	fragOff uint32

	// directories: where the listing is in the directory table
	dirBlock uint32
	dirOff   uint16
	parent   uint32

	target []byte // symlinks
}

var typeBits = [...]uint32{
	typeDir: syscall.S_IFDIR, typeFile: syscall.S_IFREG, typeSymlink: syscall.S_IFLNK,
	typeBlock: syscall.S_IFBLK, typeChar: syscall.S_IFCHR, typeFifo: syscall.S_IFIFO,
	typeSocket: syscall.S_IFSOCK,
}

// inode returns the inode at ref, parsed once and cached.
func (img *Image) inode(ref uint64) (*inode, error) {
	if in := img.inodes.get(ref); in != nil {
		return in, nil
	}
	in, err := img.parseInode(ref)
	if err != nil {
		return nil, err
	}
	img.inodes.put(ref, in)
	return in, nil
}

func (img *Image) parseInode(ref uint64) (*inode, error) {
	m, err := img.metaReaderAt(img.sb.InodeTableStart+ref>>16, int(ref&0xffff))
	if err != nil {
		return nil, err
	}
	h, err := m.read(16)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	t := le.Uint16(h)
	in := &inode{ref: ref, xattr: noXattr, frag: noFragment, nlink: 1}
	ext := t > typeSocket
	if ext {
		t -= typeSocket
	}
	if t < typeDir || t > typeSocket {
		return nil, fmt.Errorf("%w: inode %#x has a bad type %d", ErrFormat, ref, le.Uint16(h))
	}
	in.kind = uint8(t)
	in.mode = typeBits[t] | uint32(le.Uint16(h[2:])&0o7777)
	if in.uid, err = img.id(le.Uint16(h[4:])); err != nil {
		return nil, err
	}
	if in.gid, err = img.id(le.Uint16(h[6:])); err != nil {
		return nil, err
	}
	in.mtime, in.ino = le.Uint32(h[8:]), le.Uint32(h[12:])
	switch t {
	case typeDir:
		err = img.parseDir(m, in, ext)
	case typeFile:
		err = img.parseFile(m, in, ext)
	case typeSymlink:
		err = parseSymlink(m, in, ext)
	default:
		err = parseSpecial(m, in, ext)
	}
	if err != nil {
		return nil, fmt.Errorf("inode %#x: %w", ref, err)
	}
	return in, nil
}

func (img *Image) parseDir(m *metaReader, in *inode, ext bool) error {
	le := binary.LittleEndian
	if !ext {
		p, err := m.read(16)
		if err != nil {
			return err
		}
		in.dirBlock, in.nlink = le.Uint32(p), le.Uint32(p[4:])
		in.size, in.dirOff, in.parent = uint64(le.Uint16(p[8:])), le.Uint16(p[10:]), le.Uint32(p[12:])
		return nil
	}
	p, err := m.read(24)
	if err != nil {
		return err
	}
	in.nlink, in.size, in.dirBlock = le.Uint32(p), uint64(le.Uint32(p[4:])), le.Uint32(p[8:])
	in.parent, in.dirOff, in.xattr = le.Uint32(p[12:]), le.Uint16(p[18:]), le.Uint32(p[20:])
	return nil // the directory index that follows is not needed: listings are parsed whole
}

func (img *Image) parseFile(m *metaReader, in *inode, ext bool) error {
	le := binary.LittleEndian
	if !ext {
		p, err := m.read(16)
		if err != nil {
			return err
		}
		in.start, in.frag = uint64(le.Uint32(p)), le.Uint32(p[4:])
		in.fragOff, in.size = le.Uint32(p[8:]), uint64(le.Uint32(p[12:]))
	} else {
		p, err := m.read(40)
		if err != nil {
			return err
		}
		in.start, in.size = le.Uint64(p), le.Uint64(p[8:])
		in.nlink, in.frag, in.fragOff, in.xattr = le.Uint32(p[24:]), le.Uint32(p[28:]), le.Uint32(p[32:]), le.Uint32(p[36:])
	}
	bs := uint64(img.sb.BlockSize)
	n := in.size / bs
	if in.frag == noFragment && in.size%bs != 0 {
		n++
	}
	if n > img.sb.BytesUsed { // a corrupt size: do not allocate for it
		return fmt.Errorf("%w: file of %d bytes in a %d-byte image", ErrFormat, in.size, img.sb.BytesUsed)
	}
	if in.frag != noFragment && int(in.frag) >= len(img.frags) {
		return fmt.Errorf("%w: fragment %d out of range", ErrFormat, in.frag)
	}
	p, err := m.read(4 * int(n))
	if err != nil {
		return err
	}
	in.blocks, in.blockAt = make([]uint32, n), make([]uint64, n)
	at := in.start
	for i := range in.blocks {
		in.blocks[i], in.blockAt[i] = le.Uint32(p[4*i:]), at
		at += uint64(in.blocks[i] &^ blockUncompressed)
	}
	return nil
}

func parseSymlink(m *metaReader, in *inode, ext bool) error {
	le := binary.LittleEndian
	p, err := m.read(8)
	if err != nil {
		return err
	}
	in.nlink, in.size = le.Uint32(p), uint64(le.Uint32(p[4:]))
	if in.size > 1<<16 {
		return fmt.Errorf("%w: symlink target of %d bytes", ErrFormat, in.size)
	}
	t, err := m.read(int(in.size))
	if err != nil {
		return err
	}
	in.target = append([]byte(nil), t...)
	if ext {
		in.xattr, err = m.u32()
	}
	return err
}

func parseSpecial(m *metaReader, in *inode, ext bool) error {
	var err error
	if in.nlink, err = m.u32(); err != nil {
		return err
	}
	if in.kind == typeBlock || in.kind == typeChar {
		if in.rdev, err = m.u32(); err != nil {
			return err
		}
	}
	if ext {
		in.xattr, err = m.u32()
	}
	return err
}
