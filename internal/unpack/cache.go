package unpack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cache is the user's cache directory, opened by a walk from "/" that
// checks every directory on the way (see walk), and then used through that
// descriptor only: whoever renames directories above it afterwards changes
// nothing for this run.
type cache struct {
	path string
	fd   int
}

func (c *cache) close() { unix.Close(c.fd) }

// openCache opens the user's cache directory, creating what is missing of
// it (mode 0700) when create is set; with create unset, a missing part is
// fs.ErrNotExist.
func openCache(create bool) (*cache, error) {
	dir := cacheDirName()
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("%s=%q: not an absolute path", DirEnv, dir)
	}
	fd, real, err := walk(dir, create)
	if err != nil {
		return nil, fmt.Errorf("unpacked image cache %s: %w", dir, err)
	}
	return &cache{path: real, fd: fd}, nil
}

// maxLinks bounds the symbolic links followed in one walk (the kernel's own
// limit).
const maxLinks = 40

// walk opens dir one name at a time from "/", never following a symbolic
// link it has not checked, and returns a descriptor of it and its path
// without symbolic links (the container's init follows none). Every directory
// on the way must belong to root or to the user, and one that others can
// write to must be sticky (then only its owner, root or the user can rename
// what the user owns in it): anyone else could swap what is below it
// between a check and a use. dir itself must be the user's and writable by
// no one else. Missing directories are made (mode 0700) when create is set:
// by mkdirat in a directory already checked, and opened without following
// links, so nobody can make this create them elsewhere.
func walk(dir string, create bool) (int, string, error) {
	names := strings.Split(filepath.Clean(dir), "/")
	var stack []opened // the directories walked, "/" first
	defer func() {
		for _, d := range stack {
			unix.Close(d.fd)
		}
	}()
	links := 0
	for len(names) > 0 {
		name := names[0]
		names = names[1:]
		switch {
		case name == "" && len(stack) > 0, name == ".":
			continue
		case name == "": // "/": start again from there
			fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return -1, "", err
			}
			stack = append(stack, opened{fd, "/"})
			continue
		case name == "..":
			if len(stack) > 1 {
				unix.Close(stack[len(stack)-1].fd)
				stack = stack[:len(stack)-1]
			}
			continue
		}
		top := stack[len(stack)-1]
		p := filepath.Join(top.path, name)
		target, err := linkAt(top.fd, p, name)
		if err != nil {
			return -1, "", err
		}
		if target != "" {
			if links++; links > maxLinks {
				return -1, "", fmt.Errorf("%s: %w", p, unix.ELOOP)
			}
			if strings.HasPrefix(target, "/") {
				for _, d := range stack {
					unix.Close(d.fd)
				}
				stack = nil
			}
			names = append(strings.Split(target, "/"), names...)
			continue
		}
		fd, err := openDir(top.fd, p, name, create)
		if err != nil {
			return -1, "", err
		}
		stack = append(stack, opened{fd, p})
		if err := checkDir(fd, p, len(names) == 0); err != nil {
			return -1, "", err
		}
	}
	last := stack[len(stack)-1]
	if len(stack) == 1 { // dir is "/": not the user's
		return -1, "", refuse("not a directory of yours")
	}
	// A descriptor that can read the directory, not only name it.
	fd, err := unix.Openat(last.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	return fd, last.path, err
}

// opened is a directory that walk opened and checked.
type opened struct {
	fd   int
	path string // for messages
}

// linkAt returns the target of name in dirfd when it is a symbolic link
// that the user may follow (one of root's or the user's: the directory it
// is in was checked already), "" when it is something else or missing.
func linkAt(dirfd int, p, name string) (string, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", nil
	}
	if st.Uid != 0 && int(st.Uid) != os.Getuid() {
		return "", refuse("%s: a symbolic link of uid %d, not yours or root's", p, st.Uid)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// openDir opens directory name in dirfd without following a link, making it
// first when missing and create is set.
func openDir(dirfd int, p, name string, create bool) (int, error) {
	flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if err == unix.ENOENT && create {
		if err = unix.Mkdirat(dirfd, name, 0o700); err == nil || err == unix.EEXIST {
			fd, err = unix.Openat(dirfd, name, flags, 0)
		}
	}
	switch {
	case err == unix.ENOTDIR || err == unix.ELOOP:
		return -1, refuse("%s: not a directory", p)
	case err != nil:
		return -1, fmt.Errorf("%s: %w", p, err)
	}
	return fd, nil
}

// refusal is a directory that walk's rules refuse (pcocc check says how to
// fix it, pcocc run with withHint).
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refuse(format string, a ...any) error { return &refusal{fmt.Sprintf(format, a...)} }

// withHint adds to a refusal how to get out of it.
func withHint(err error) error {
	var r *refusal
	if errors.As(err, &r) {
		return fmt.Errorf("%w (have it removed or repaired, or set %s to a directory of yours)", err, DirEnv)
	}
	return err
}

// checkDir applies walk's rules to the directory open as fd; last: it is
// the cache itself.
func checkDir(fd int, p string, last bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	mine := int(st.Uid) == os.Getuid()
	switch {
	case last && !mine:
		return refuse("belongs to uid %d, not to you", st.Uid)
	case last && mode&0o022 != 0:
		return refuse("writable by others (mode %o)", mode&0o777)
	case !mine && st.Uid != 0:
		return refuse("%s belongs to uid %d, not to you or root (its owner could swap what is in it)", p, st.Uid)
	case mode&0o022 != 0 && mode&unix.S_ISVTX == 0:
		return refuse("%s is writable by others and not sticky (mode %o: they could swap what is in it)", p, mode&0o1777)
	}
	return nil
}

// UserDir returns /var/tmp/pcocc-UID/NAME, the user's private directory
// NAME on this node beside the default cache of unpacked images, checked
// from "/" down as the cache is (see walk); with create, what is missing
// is made (mode 0700), else a missing part is fs.ErrNotExist.
func UserDir(name string, create bool) (string, error) {
	dir := filepath.Join(defaultBase, "pcocc-"+strconv.Itoa(os.Getuid()), name)
	fd, real, err := walk(dir, create)
	if err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	unix.Close(fd)
	return real, nil
}
