package sqfuse

import (
	"errors"
	"log"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// forever is the entry and attribute timeout: the image never changes, so
// the kernel may keep what it learnt for the life of the mount.
const forever = 100 * 365 * 24 * time.Hour

// rawFS serves an Image with go-fuse's raw API. It keeps no per-node state:
// a node id is the inode's reference in the inode table (+2, so that no
// reference collides with FUSE's root id 1), which makes Forget free and
// every request a lookup in the image's caches.
//
// Open and OpenDir answer ENOSYS on purpose: the kernel then stops sending
// them and opens every file with FOPEN_KEEP_CACHE and every directory with
// FOPEN_CACHE_DIR, so the page cache and directory listings survive reopens,
// and opening costs no round trip to this process.
type rawFS struct {
	fuse.RawFileSystem // ENOSYS for everything a read-only image lacks
	img                *Image
	root               uint64 // the root inode's reference
	errs               atomic.Int64
	log                *log.Logger // where damaged images are reported
}

func newRawFS(img *Image, l *log.Logger) *rawFS {
	return &rawFS{RawFileSystem: fuse.NewDefaultRawFileSystem(), img: img, root: img.sb.RootInode, log: l}
}

func (fs *rawFS) String() string { return "sqfuse" }

func (fs *rawFS) nodeID(ref uint64) uint64 {
	if ref == fs.root {
		return fuse.FUSE_ROOT_ID
	}
	return ref + 2
}

func (fs *rawFS) inode(nodeID uint64) (*inode, fuse.Status) {
	ref := nodeID - 2
	if nodeID == fuse.FUSE_ROOT_ID {
		ref = fs.root
	}
	in, err := fs.img.inode(ref)
	if err != nil {
		return nil, fs.status(err)
	}
	return in, fuse.OK
}

// status maps an error to an errno; a corrupt image is EIO, and said on
// the server's log (the first few times: a damaged image fails the same way often).
func (fs *rawFS) status(err error) fuse.Status {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fuse.Status(errno)
	}
	if fs.errs.Add(1) <= 10 {
		fs.log.Printf("sqfuse: %v", err)
	}
	return fuse.EIO
}

func (fs *rawFS) fillAttr(in *inode, a *fuse.Attr) {
	*a = fuse.Attr{
		Ino: uint64(in.ino), Size: in.size, Blocks: (in.size + 511) / 512,
		Atime: uint64(in.mtime), Mtime: uint64(in.mtime), Ctime: uint64(in.mtime),
		Mode: in.mode, Nlink: in.nlink, Owner: fuse.Owner{Uid: in.uid, Gid: in.gid},
		Rdev: in.rdev, Blksize: 4096,
	}
}

func (fs *rawFS) fillEntry(in *inode, out *fuse.EntryOut) {
	out.NodeId, out.Generation = fs.nodeID(in.ref), 1
	out.SetEntryTimeout(forever)
	out.SetAttrTimeout(forever)
	fs.fillAttr(in, &out.Attr)
}

func (fs *rawFS) Lookup(_ <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	dir, st := fs.inode(h.NodeId)
	if !st.Ok() {
		return st
	}
	e, err := fs.img.lookup(dir, name)
	if errors.Is(err, syscall.ENOENT) {
		// A negative entry, cached as long as the others: node id 0.
		*out = fuse.EntryOut{}
		out.SetEntryTimeout(forever)
		return fuse.OK
	}
	if err != nil {
		return fs.status(err)
	}
	in, err := fs.img.inode(e.ref)
	if err != nil {
		return fs.status(err)
	}
	fs.fillEntry(in, out)
	return fuse.OK
}

func (fs *rawFS) GetAttr(_ <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	n, st := fs.inode(in.NodeId)
	if !st.Ok() {
		return st
	}
	out.SetTimeout(forever)
	fs.fillAttr(n, &out.Attr)
	return fuse.OK
}

func (fs *rawFS) Readlink(_ <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	n, st := fs.inode(h.NodeId)
	if !st.Ok() {
		return nil, st
	}
	if n.kind != typeSymlink {
		return nil, fuse.EINVAL
	}
	return n.target, fuse.OK
}

func (fs *rawFS) Open(<-chan struct{}, *fuse.OpenIn, *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

func (fs *rawFS) OpenDir(<-chan struct{}, *fuse.OpenIn, *fuse.OpenOut) fuse.Status {
	return fuse.ENOSYS
}

// Flush answers ENOSYS for the same reason: go-fuse's default says OK, which
// makes the kernel send a FLUSH on every close.
func (fs *rawFS) Flush(<-chan struct{}, *fuse.FlushIn) fuse.Status { return fuse.ENOSYS }

func (fs *rawFS) Read(_ <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	n, st := fs.inode(in.NodeId)
	if !st.Ok() {
		return nil, st
	}
	fs.img.prefetch(n, int(in.Offset/uint64(fs.img.sb.BlockSize)))
	k, err := fs.img.readFile(n, buf[:min(len(buf), int(in.Size))], in.Offset)
	if err != nil {
		return nil, fs.status(err)
	}
	return fuse.ReadResultData(buf[:k]), fuse.OK
}

func (fs *rawFS) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.readDir(in, out, false)
}

func (fs *rawFS) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	return fs.readDir(in, out, true)
}

// readDir lists from position in.Offset: 0 is ".", 1 "..", then the
// entries; each entry's offset is its position + 1.
func (fs *rawFS) readDir(in *fuse.ReadIn, out *fuse.DirEntryList, plus bool) fuse.Status {
	dir, st := fs.inode(in.NodeId)
	if !st.Ok() {
		return st
	}
	list, err := fs.img.readDir(dir)
	if err != nil {
		return fs.status(err)
	}
	for pos := in.Offset; pos < uint64(len(list))+2; pos++ {
		e := fuse.DirEntry{Off: pos + 1, Mode: syscall.S_IFDIR}
		var ref uint64
		switch pos {
		case 0:
			e.Name, e.Ino = ".", uint64(dir.ino)
		case 1:
			e.Name, e.Ino = "..", uint64(dir.parent)
		default:
			d := &list[pos-2]
			e.Name, e.Ino, e.Mode, ref = d.name, uint64(d.ino), typeBits[d.kind], d.ref
		}
		if !plus {
			if !out.AddDirEntry(e) {
				break
			}
			continue
		}
		eo := out.AddDirLookupEntry(e)
		if eo == nil {
			break
		}
		if pos < 2 {
			continue // no entry for . and ..: the kernel ignores them
		}
		child, err := fs.img.inode(ref)
		if err != nil {
			return fs.status(err)
		}
		fs.fillEntry(child, eo)
	}
	return fuse.OK
}

func (fs *rawFS) StatFs(_ <-chan struct{}, _ *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	sb := &fs.img.sb
	*out = fuse.StatfsOut{Blocks: sb.BytesUsed / uint64(sb.BlockSize), Files: uint64(sb.InodeCount),
		Bsize: sb.BlockSize, Frsize: sb.BlockSize, NameLen: 256}
	return fuse.OK
}

func (fs *rawFS) GetXAttr(_ <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	if !fs.img.hasXattrs() {
		return 0, fuse.ENOSYS // the kernel stops asking for the life of the mount
	}
	n, st := fs.inode(h.NodeId)
	if !st.Ok() {
		return 0, st
	}
	names, values, err := fs.img.xattrList(n)
	if err != nil {
		return 0, fs.status(err)
	}
	for i, name := range names {
		if name == attr {
			return xattrReply(values[i], dest)
		}
	}
	return 0, fuse.ENOATTR
}

func (fs *rawFS) ListXAttr(_ <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	if !fs.img.hasXattrs() {
		return 0, fuse.ENOSYS
	}
	n, st := fs.inode(h.NodeId)
	if !st.Ok() {
		return 0, st
	}
	names, _, err := fs.img.xattrList(n)
	if err != nil {
		return 0, fs.status(err)
	}
	var b []byte
	for _, name := range names {
		b = append(append(b, name...), 0)
	}
	return xattrReply(b, dest)
}

// xattrReply answers the size alone when dest is empty (the caller asks how
// much room it needs), ERANGE when dest is too small.
func xattrReply(v, dest []byte) (uint32, fuse.Status) {
	switch {
	case len(dest) == 0:
		return uint32(len(v)), fuse.OK
	case len(dest) < len(v):
		return uint32(len(v)), fuse.ERANGE
	}
	return uint32(copy(dest, v)), fuse.OK
}
