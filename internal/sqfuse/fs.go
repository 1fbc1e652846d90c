package sqfuse

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"syscall"
	"time"
)

// Image is an io/fs file system too (fs.ReadDirFS, fs.StatFS,
// fs.ReadLinkFS), so that pcocc reads files out of an image (a SIF's
// metadata) with the reader that serves it, without mounting it and without
// another tool. Symbolic links are followed inside the image: an absolute
// target starts at the image's root, ".." stops at it, as in a container.
var (
	_ fs.ReadDirFS  = (*Image)(nil)
	_ fs.StatFS     = (*Image)(nil)
	_ fs.ReadLinkFS = (*Image)(nil)
)

// maxLinks is how many symbolic links a path may go through, as Linux's
// MAXSYMLINKS.
const maxLinks = 40

// Open opens name, following symbolic links.
func (img *Image) Open(name string) (fs.File, error) {
	in, err := img.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	return &file{img: img, in: in, name: path.Base(name)}, nil
}

// Stat describes name, following symbolic links.
func (img *Image) Stat(name string) (fs.FileInfo, error) {
	in, err := img.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return fileInfo{in, path.Base(name)}, nil
}

// Lstat describes name itself when it is a symbolic link.
func (img *Image) Lstat(name string) (fs.FileInfo, error) {
	in, err := img.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return fileInfo{in, path.Base(name)}, nil
}

// ReadLink returns the target of the symbolic link name.
func (img *Image) ReadLink(name string) (string, error) {
	in, err := img.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if in.kind != typeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: syscall.EINVAL}
	}
	return string(in.target), nil
}

// ReadDir lists directory name, sorted by name; the entries' types are the
// listing's (a symbolic link is a link).
func (img *Image) ReadDir(name string) ([]fs.DirEntry, error) {
	in, err := img.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	list, err := img.readDir(in)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, len(list))
	for i := range list {
		out[i] = dirEntryOf{img, &list[i]}
	}
	return out, nil
}

// resolve walks name from the root. Errors are *fs.PathError: an image
// error inside wraps ErrFormat.
func (img *Image) resolve(op, name string, followLast bool) (*inode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root, err := img.inode(img.sb.RootInode)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	in, err := img.walk(root, []*inode{root}, name, followLast, new(int))
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return in, nil
}

// walk resolves the components of rel from the last directory of stack
// (the path to it from the root, for ".."); links counts the symbolic links
// followed so far.
func (img *Image) walk(root *inode, stack []*inode, rel string, followLast bool, links *int) (*inode, error) {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		cur := stack[len(stack)-1]
		switch p {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		e, err := img.lookup(cur, p)
		if err != nil {
			return nil, errnoToFS(err)
		}
		next, err := img.inode(e.ref)
		if err != nil {
			return nil, err
		}
		last := i == len(parts)-1
		if next.kind == typeSymlink && (!last || followLast) {
			if *links++; *links > maxLinks {
				return nil, syscall.ELOOP
			}
			base := stack
			if strings.HasPrefix(string(next.target), "/") {
				base = []*inode{root}
			}
			if next, err = img.walk(root, append([]*inode(nil), base...), string(next.target), true, links); err != nil {
				return nil, err
			}
		}
		stack = append(stack, next)
	}
	return stack[len(stack)-1], nil
}

// errnoToFS turns the reader's errnos into the io/fs errors callers test.
func errnoToFS(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return fs.ErrNotExist
	}
	return err
}

// file is an open file or directory of an image.
type file struct {
	img  *Image
	in   *inode
	name string
	off  uint64
	dir  []fs.DirEntry // what ReadDir has yet to return, once listed
	read bool          // the listing was read
}

func (f *file) Stat() (fs.FileInfo, error) { return fileInfo{f.in, f.name}, nil }
func (f *file) Close() error               { return nil }

func (f *file) Read(p []byte) (int, error) {
	if f.in.kind == typeDir {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: syscall.EISDIR}
	}
	if f.off >= f.in.size {
		return 0, io.EOF
	}
	n, err := f.img.readFile(f.in, p, f.off)
	f.off += uint64(n)
	if err != nil {
		return n, &fs.PathError{Op: "read", Path: f.name, Err: err}
	}
	return n, nil
}

// ReadDir follows fs.ReadDirFile: n <= 0 returns the rest at once.
func (f *file) ReadDir(n int) ([]fs.DirEntry, error) {
	if f.in.kind != typeDir {
		return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: syscall.ENOTDIR}
	}
	if !f.read {
		list, err := f.img.readDir(f.in)
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: f.name, Err: err}
		}
		for i := range list {
			f.dir = append(f.dir, dirEntryOf{f.img, &list[i]})
		}
		f.read = true
	}
	if n <= 0 {
		out := f.dir
		f.dir = nil
		return out, nil
	}
	if len(f.dir) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(f.dir))
	out := f.dir[:k]
	f.dir = f.dir[k:]
	return out, nil
}

// fileInfo describes an inode under a name.
type fileInfo struct {
	in   *inode
	name string
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return int64(fi.in.size) }
func (fi fileInfo) ModTime() time.Time { return time.Unix(int64(fi.in.mtime), 0) }
func (fi fileInfo) IsDir() bool        { return fi.in.kind == typeDir }
func (fi fileInfo) Sys() any           { return nil }
func (fi fileInfo) Mode() fs.FileMode  { return modeOf(fi.in.mode) }

// modeOf turns a squashfs mode (S_IF* and permissions) into an fs.FileMode.
func modeOf(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// dirEntryOf is an entry of a listing; its inode is read by Info only.
type dirEntryOf struct {
	img *Image
	e   *dirEntry
}

func (d dirEntryOf) Name() string      { return d.e.name }
func (d dirEntryOf) IsDir() bool       { return d.e.kind == typeDir }
func (d dirEntryOf) Type() fs.FileMode { return modeOf(typeBits[d.e.kind]).Type() }

func (d dirEntryOf) Info() (fs.FileInfo, error) {
	in, err := d.img.inode(d.e.ref)
	if err != nil {
		return nil, err
	}
	return fileInfo{in, d.e.name}, nil
}
