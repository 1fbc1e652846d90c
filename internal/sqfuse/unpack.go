package sqfuse

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Unpack writes the image's tree into dir, an empty directory, as the
// calling user: what `pcocc run` bind-mounts when images are unpacked into
// the node-local cache (internal/unpack). Everything belongs to the caller
// (an unprivileged user cannot give files away), so a set-user-id bit
// stays but makes a program set-user-id to its own user: nothing, and the
// container's mounts are nosuid anyway (a set-group-id bit the kernel may
// drop, for a group the user is not in); device nodes and sockets are left
// out (the container has the host's /dev); extended attributes are not
// kept. Hard links stay links.
//
// In phases, so that goroutines share nothing but a counter: the walk
// creates directories, symbolic links and FIFOs and lists the files, by
// directory; every CPU then takes whole directories from that list and
// writes their files (decompressing them: two writers in one directory
// would contend for its lock, which costs more than it gains); hard links
// follow, then the directories get their image modes and times, deepest
// first (a 0555 directory must first be filled). System calls on raw
// descriptors: os.File would add an fcntl and a failed epoll registration
// to each of the image's files.
//
// Cancelling ctx stops it between two files, with ctx's error.
func (img *Image) Unpack(ctx context.Context, dir string) error {
	u := &unpacker{ctx: ctx, img: img, first: make(map[uint32]string)}
	root, err := img.inode(img.sb.RootInode)
	if err != nil {
		return err
	}
	if err := u.dir(root, dir); err != nil {
		return err
	}
	if err := u.writeFiles(); err != nil {
		return err
	}
	for _, l := range u.links {
		if err := unix.Link(l.target, l.path); err != nil {
			return fmt.Errorf("%s: %w", l.path, err)
		}
	}
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := unix.Chmod(d.path, d.in.mode&0o7777); err != nil {
			return err
		}
		if err := setTime(d.path, d.in.mtime); err != nil {
			return err
		}
	}
	return nil
}

type unpacker struct {
	ctx   context.Context
	img   *Image
	first map[uint32]string // inode number → its first path (hard links)
	dirs  []entryAt
	files [][]entryAt // by directory
	links []linkAt
}

type entryAt struct {
	path string
	in   *inode
}

type linkAt struct{ path, target string }

// dir lists directory in into path (existing).
func (u *unpacker) dir(in *inode, path string) error {
	if err := u.ctx.Err(); err != nil {
		return err
	}
	u.dirs = append(u.dirs, entryAt{path, in})
	u.files = append(u.files, nil)
	group := len(u.files) - 1
	ents, err := u.img.readDir(in)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.name == "" || e.name == "." || e.name == ".." || filepath.Base(e.name) != e.name {
			return fmt.Errorf("%w: bad name %q in a directory", ErrFormat, e.name)
		}
		child, err := u.img.inode(e.ref)
		if err != nil {
			return err
		}
		p := filepath.Join(path, e.name)
		if child.kind == typeFile && !u.linked(child, p) {
			u.files[group] = append(u.files[group], entryAt{p, child})
			continue
		}
		if err := u.entry(child, p); err != nil {
			return err
		}
	}
	return nil
}

// linked tells whether file in at path is a hard link to a file listed
// before, and records it as such; else it records path as in's first name.
func (u *unpacker) linked(in *inode, path string) bool {
	if first, ok := u.first[in.ino]; ok && in.nlink > 1 {
		u.links = append(u.links, linkAt{path, first})
		return true
	}
	u.first[in.ino] = path
	return false
}

// entry creates what the walk creates itself (not regular files, nor hard
// links: see dir). Creation fails on an existing
// name (mkdir, symlink, mkfifo, and O_EXCL later): an image that repeats a
// name cannot make the unpacker follow a link it just made.
func (u *unpacker) entry(in *inode, path string) error {
	switch in.kind {
	case typeDir:
		if err := unix.Mkdir(path, 0o700); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return u.dir(in, path)
	case typeSymlink:
		if err := unix.Symlink(string(in.target), path); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return setTime(path, in.mtime)
	case typeFifo:
		if err := unix.Mkfifo(path, in.mode&0o777); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return setTime(path, in.mtime)
	}
	return nil // devices and sockets: see Unpack
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
					err := u.ctx.Err()
					if err == nil {
						err = u.writeFile(f, buf)
					}
					if err != nil {
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
	fd, err := unix.Open(f.path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
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
	if err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	return nil
}

// fill writes the contents of in to fd.
func (u *unpacker) fill(fd int, in *inode, buf []byte) error {
	for off := uint64(0); off < in.size; {
		n, err := u.img.readFile(in, buf, off)
		if err == nil && n == 0 {
			err = fmt.Errorf("%w: short file", ErrFormat)
		}
		if err != nil {
			return err
		}
		for p := buf[:n]; len(p) > 0; {
			k, err := unix.Write(fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			p = p[k:]
		}
		off += uint64(n)
	}
	return nil
}

func setTime(path string, mtime uint32) error {
	ts := []unix.Timespec{{Sec: int64(mtime)}, {Sec: int64(mtime)}}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}
