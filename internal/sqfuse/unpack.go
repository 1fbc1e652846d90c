package sqfuse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Unpack writes the image's tree into dir, an empty directory, as the
// calling user: what `pcocc run` bind-mounts when images are unpacked into
// the node-local cache (internal/unpack). Everything belongs to the caller
// (an unprivileged user cannot give files away), so a set-user-id bit
// stays but makes a program set-user-id to its own user: nothing, and the
// container's mounts are nosuid anyway (a set-group-id bit the kernel may
// drop, for a group the user is not in); device nodes and sockets are left out (the container has the host's
// /dev); extended attributes are not kept. Hard links stay links.
// Directories get their image mode at the end (a read-only directory must
// first be filled). File contents are decompressed on every CPU.
func (img *Image) Unpack(dir string) error {
	u := &unpacker{img: img, links: make(map[uint32]string), jobs: make(chan fileJob, 256)}
	for range runtime.GOMAXPROCS(0) {
		u.wg.Add(1)
		go u.worker()
	}
	root, err := img.inode(img.sb.RootInode)
	if err == nil {
		err = u.dir(root, dir)
	}
	close(u.jobs)
	u.wg.Wait()
	if err != nil {
		return err
	}
	if err := u.firstErr(); err != nil {
		return err
	}
	// Modes and times of directories last, deepest first: writing into a
	// directory changes its mtime, and a 0555 directory is not writable.
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
	img   *Image
	links map[uint32]string // inode number → first path (hard links)
	dirs  []dirDone
	jobs  chan fileJob
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

type dirDone struct {
	path string
	in   *inode
}

type fileJob struct {
	f  *os.File // created by the walk, so that hard links to it can be made at once
	in *inode
}

func (u *unpacker) fail(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err == nil {
		u.err = err
	}
}

func (u *unpacker) firstErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// dir unpacks the listing of directory in into path (existing).
func (u *unpacker) dir(in *inode, path string) error {
	u.dirs = append(u.dirs, dirDone{path, in})
	ents, err := u.img.readDir(in)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := u.firstErr(); err != nil {
			return err
		}
		if e.name == "" || e.name == "." || e.name == ".." || filepath.Base(e.name) != e.name {
			return fmt.Errorf("%w: bad name %q in a directory", ErrFormat, e.name)
		}
		child, err := u.img.inode(e.ref)
		if err != nil {
			return err
		}
		if err := u.entry(child, filepath.Join(path, e.name)); err != nil {
			return err
		}
	}
	return nil
}

func (u *unpacker) entry(in *inode, path string) error {
	switch in.kind {
	case typeDir:
		if err := os.Mkdir(path, 0o700); err != nil {
			return err
		}
		return u.dir(in, path)
	case typeSymlink:
		if err := os.Symlink(string(in.target), path); err != nil {
			return err
		}
		return setTime(path, in.mtime)
	case typeFile:
		if first, ok := u.links[in.ino]; ok && in.nlink > 1 {
			return os.Link(first, path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		u.links[in.ino] = path
		u.jobs <- fileJob{f, in}
		return nil
	case typeFifo:
		if err := unix.Mkfifo(path, in.mode&0o777); err != nil {
			return err
		}
		return setTime(path, in.mtime)
	}
	return nil // devices and sockets: see Unpack
}

func (u *unpacker) worker() {
	defer u.wg.Done()
	buf := make([]byte, 1<<20)
	for j := range u.jobs {
		if u.firstErr() != nil {
			j.f.Close()
			continue
		}
		if err := u.file(j, buf); err != nil {
			u.fail(err)
		}
	}
}

// file writes the contents, mode and time of a file the walk created.
func (u *unpacker) file(j fileJob, buf []byte) error {
	f := j.f
	for off := uint64(0); off < j.in.size; {
		n, err := u.img.readFile(j.in, buf, off)
		if err == nil && n == 0 {
			err = errors.New("short file")
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		off += uint64(n)
	}
	if err := unix.Fchmod(int(f.Fd()), j.in.mode&0o7777); err != nil {
		f.Close()
		return err
	}
	tv := []unix.Timeval{{Sec: int64(j.in.mtime)}, {Sec: int64(j.in.mtime)}}
	if err := unix.Futimes(int(f.Fd()), tv); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func setTime(path string, mtime uint32) error {
	ts := []unix.Timespec{{Sec: int64(mtime)}, {Sec: int64(mtime)}}
	return unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
}
