package sqfuse

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// ErrLimit: the image unpacks to more bytes than the caller allowed.
var ErrLimit = sqfsformat.ErrLimit

// Costs charged against Unpack's limit: what a name takes on disk (inode
// and directory entry), and the allocation unit of file data.
const (
	entryCost = 512
	allocUnit = 4096
)

// Unpack writes the image's tree into the empty directory dirfd, as the
// calling user: what `pcocc run` bind-mounts when images are unpacked into
// the node-local cache (internal/unpack). Everything belongs to the caller
// (an unprivileged user cannot give files away), so a set-user-id bit
// stays but makes a program set-user-id to its own user: nothing, and the
// container's mounts are nosuid anyway (a set-group-id bit the kernel may
// drop, for a group the user is not in); device nodes and sockets are left
// out (the container has the host's /dev); extended attributes are not
// kept. Every name is created relative to dirfd, never through a path from
// "/": whoever can rename the directories above it cannot redirect it.
//
// What it writes is bounded, whatever the image says: sparse blocks stay
// holes, a file inode reached by several names is written once and linked
// (whatever its link count claims), a directory inode reached twice is a
// corrupt image, and past limit bytes (file data in allocation units, plus
// entryCost per name) it stops with ErrLimit.
//
// In phases, so that goroutines share nothing but counters: the walk
// creates directories, symbolic links and FIFOs and lists the files, by
// directory; every CPU then takes whole directories from that list and
// writes their files (decompressing them: two writers in one directory
// would contend for its lock, which costs more than it gains); hard links
// follow, then the directories get their image modes and times, deepest
// first (a 0555 directory must first be filled). System calls on raw
// descriptors: os.File would add an fcntl and a failed epoll registration
// to each of the image's files.
//
// Cancelling ctx stops it within a block of data, with ctx's error.
func (img *Image) Unpack(ctx context.Context, dirfd int, limit int64) error {
	u := &unpacker{ctx: ctx, img: img, root: dirfd, limit: limit,
		first: make(map[uint32]string), seen: make(map[uint64]bool)}
	root, err := img.inode(img.sb.RootInode)
	if err != nil {
		return err
	}
	if err := u.dir(root, "."); err != nil {
		return err
	}
	if err := u.precheck(); err != nil {
		return err
	}
	if err := u.writeFiles(); err != nil {
		return err
	}
	for _, l := range u.links {
		if err := u.charge(entryCost); err != nil {
			return err
		}
		if err := unix.Linkat(u.root, l.target, u.root, l.path, 0); err != nil {
			return fmt.Errorf("%s: %w", l.path, err)
		}
	}
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := unix.Fchmodat(u.root, d.path, d.in.mode&0o7777, 0); err != nil {
			return err
		}
		if err := u.setTime(d.path, d.in.mtime); err != nil {
			return err
		}
	}
	return nil
}

type unpacker struct {
	ctx   context.Context
	img   *Image
	root  int // the directory unpacked into; every path is relative to it
	limit int64
	used  atomic.Int64
	first map[uint32]string // file inode number → its first path (hard links)
	seen  map[uint64]bool   // directory inodes walked
	dirs  []entryAt
	files [][]entryAt // by directory
	links []linkAt
}

type entryAt struct {
	path string
	in   *inode
}

type linkAt struct{ path, target string }

// charge counts n more bytes written, and fails past the limit.
func (u *unpacker) charge(n int64) error {
	if u.used.Add(n) > u.limit {
		return fmt.Errorf("%w (%d MiB)", ErrLimit, u.limit>>20)
	}
	return nil
}

// dir lists directory in into p (existing).
func (u *unpacker) dir(in *inode, p string) error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	if u.seen[in.ref] {
		return fmt.Errorf("%w: directory %s reached twice", ErrFormat, p)
	}
	u.seen[in.ref] = true
	u.dirs = append(u.dirs, entryAt{p, in})
	u.files = append(u.files, nil)
	group := len(u.files) - 1
	ents, err := u.img.readDir(in)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.name == "" || e.name == "." || e.name == ".." || path.Base(e.name) != e.name {
			return fmt.Errorf("%w: bad name %q in a directory", ErrFormat, e.name)
		}
		child, err := u.img.inode(e.ref)
		if err != nil {
			return err
		}
		if err := u.charge(entryCost); err != nil {
			return err
		}
		cp := path.Join(p, e.name)
		if child.kind == typeFile && !u.linked(child, cp) {
			u.files[group] = append(u.files[group], entryAt{cp, child})
			continue
		}
		if err := u.entry(child, cp); err != nil {
			return err
		}
	}
	return nil
}

// linked tells whether file in at p is a name of a file listed before, and
// records it as a link to be made; else it records p as in's first name.
// The link count is not asked: an image that lies about it must not make
// the unpacker write one file once per name.
func (u *unpacker) linked(in *inode, p string) bool {
	if first, ok := u.first[in.ino]; ok {
		u.links = append(u.links, linkAt{p, first})
		return true
	}
	u.first[in.ino] = p
	return false
}

// entry creates what the walk creates itself (not regular files, nor hard
// links: see dir). Creation fails on an existing name (mkdir, symlink,
// mknod, and O_EXCL later): an image that repeats a name cannot make the
// unpacker follow a link it just made.
func (u *unpacker) entry(in *inode, p string) error {
	switch in.kind {
	case typeDir:
		if err := unix.Mkdirat(u.root, p, 0o700); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return u.dir(in, p)
	case typeSymlink:
		if err := u.charge(int64(len(in.target))); err != nil {
			return err
		}
		if err := unix.Symlinkat(string(in.target), u.root, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return u.setTime(p, in.mtime)
	case typeFifo:
		// mknod applies the umask: the mode is set again after.
		if err := unix.Mknodat(u.root, p, unix.S_IFIFO|0o600, 0); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := unix.Fchmodat(u.root, p, in.mode&0o777, 0); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return u.setTime(p, in.mtime)
	}
	return nil // devices and sockets: see Unpack
}

// precheck fails with ErrLimit before any file's data is written when the
// data alone cannot fit: an image far over the bound (many small files
// unpack to several times their squashfs) is refused after its directories
// are made, not after writing up to the bound, on every node that tries.
// It counts the least fill will charge (each file's bytes outside sparse
// blocks, rounded up to allocUnit once per file), so it never refuses an
// image that fits; fill still charges as it writes.
func (u *unpacker) precheck() error {
	bs := uint64(u.img.sb.BlockSize)
	if bs == 0 {
		return nil // fill reports the image as corrupt
	}
	need := u.used.Load()
	for _, dir := range u.files {
		for _, f := range dir {
			need += dataBytes(f.in, bs)
			if need > u.limit {
				return fmt.Errorf("%w (%d MiB)", ErrLimit, u.limit>>20)
			}
		}
	}
	return nil
}

// dataBytes is what of file in's data is not sparse blocks, rounded up to
// allocUnit.
func dataBytes(in *inode, bs uint64) int64 {
	n := in.size
	for i, b := range in.blocks {
		start := uint64(i) * bs
		if start >= in.size {
			break
		}
		if b&^blockUncompressed == 0 {
			n -= min(bs, in.size-start)
		}
	}
	return int64((n + allocUnit - 1) / allocUnit * allocUnit)
}

// writeFiles writes every listed file, a directory at a time on every CPU;
// the first error wins.
func (u *unpacker) writeFiles() error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for {
				i := int(next.Add(1)) - 1
				if i >= len(u.files) {
					return
				}
				for _, f := range u.files[i] {
					if err := u.writeFile(f, buf); err != nil {
						errs[w] = err
						next.Store(int64(len(u.files))) // stop the others
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err // one: the others are often the same, or its echo
		}
	}
	return nil
}

// writeFile creates a file with its contents, mode and time.
func (u *unpacker) writeFile(f entryAt, buf []byte) error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	fd, err := unix.Openat(u.root, f.path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	err = u.fill(fd, f.in, buf)
	if err == nil {
		err = unix.Fchmod(fd, f.in.mode&0o7777)
	}
	if err == nil {
		tv := []unix.Timeval{{Sec: int64(f.in.mtime)}, {Sec: int64(f.in.mtime)}}
		err = unix.Futimes(fd, tv)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, ErrLimit) && u.ctx.Err() == nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return err
}

// fill writes the contents of in to fd, leaving its sparse blocks holes, a
// run of data blocks at a time (at most len(buf) bytes), checking ctx
// between runs.
func (u *unpacker) fill(fd int, in *inode, buf []byte) error {
	bs := uint64(u.img.sb.BlockSize)
	if bs == 0 || uint64(len(buf)) < bs {
		return fmt.Errorf("%w: block size %d", ErrFormat, bs)
	}
	sparse := func(i uint64) bool {
		return i < uint64(len(in.blocks)) && in.blocks[i]&^blockUncompressed == 0
	}
	off, written := uint64(0), uint64(0)
	for off < in.size {
		if err := u.ctx.Err(); err != nil {
			return err
		}
		if sparse(off / bs) {
			off = min(off+bs, in.size)
			continue
		}
		end := min(off+uint64(len(buf)), in.size)
		for i := off/bs + 1; i*bs < end; i++ {
			if sparse(i) {
				end = i * bs
				break
			}
		}
		if err := u.charge(int64((end - off + allocUnit - 1) / allocUnit * allocUnit)); err != nil {
			return err
		}
		n, err := u.img.readFile(in, buf[:end-off], off)
		if err == nil && uint64(n) != end-off {
			err = fmt.Errorf("%w: short file", ErrFormat)
		}
		if err != nil {
			return err
		}
		if err := pwriteAll(fd, buf[:n], int64(off)); err != nil {
			return err
		}
		off, written = end, end
	}
	if written < in.size { // it ends in a hole
		return unix.Ftruncate(fd, int64(in.size))
	}
	return nil
}

func pwriteAll(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		k, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p, off = p[k:], off+int64(k)
	}
	return nil
}

func (u *unpacker) setTime(p string, mtime uint32) error {
	ts := []unix.Timespec{{Sec: int64(mtime)}, {Sec: int64(mtime)}}
	return unix.UtimesNanoAt(u.root, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}
