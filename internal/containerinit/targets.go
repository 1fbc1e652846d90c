package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/safeopen"
)

// openIn opens rel under the directory root the way the container will see
// it: symbolic links, absolute ones included, resolve inside root, never on
// the host (the image's content decides nothing outside of it).
func openIn(root *os.File, rel string, flags int, mode uint32) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if rel == "" {
		rel = "."
	}
	fd, err := safeopen.Openat2(int(root.Fd()), rel, &how)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/" + rel, Err: err}
	}
	return os.NewFile(uintptr(fd), "/"+rel), nil
}

// maxLinks bounds the symbolic links followed while creating a mount point.
const maxLinks = 40

// ensureTarget returns an O_PATH descriptor of the mount point dst (an
// absolute container path) under root, creating it when it is missing: a
// directory, or an empty file when the source is not a directory. It creates
// only on the file system of root (the overlay, whose upper layer is a
// tmpfs): never in the image, never on the host.
func ensureTarget(root *os.File, rootDev uint64, dst string, dir bool) (*os.File, error) {
	return ensureTargetN(root, rootDev, dst, dir, 0)
}

func ensureTargetN(root *os.File, rootDev uint64, dst string, dir bool, links int) (*os.File, error) {
	rel := strings.TrimPrefix(path.Clean(dst), "/")
	f, err := openIn(root, rel, unix.O_PATH, 0)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return f, err
	}
	if links > maxLinks {
		return nil, fmt.Errorf("mount point %s: too many levels of symbolic links", dst)
	}
	parent, err := ensureTargetN(root, rootDev, path.Dir("/"+rel), true, links+1)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	if err := onDev(parent, rootDev); err != nil {
		return nil, fmt.Errorf("cannot create mount point %s: %w", dst, err)
	}
	name := path.Base(rel)
	err = create(parent, name, dir)
	if errors.Is(err, unix.EEXIST) {
		// A dangling symbolic link (Debian's /etc/resolv.conf, for one):
		// create what it points to, as docker does.
		target, lerr := readlinkAt(parent, name)
		if lerr != nil {
			return nil, fmt.Errorf("mount point %s: %w", dst, err)
		}
		if !path.IsAbs(target) {
			target = path.Join("/", path.Dir(rel), target)
		}
		return ensureTargetN(root, rootDev, target, dir, links+1)
	}
	if err != nil {
		return nil, fmt.Errorf("creating mount point %s: %w", dst, err)
	}
	return openIn(root, rel, unix.O_PATH, 0)
}

func onDev(f *os.File, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Dev != dev {
		return errNotOnImage
	}
	return nil
}

func create(parent *os.File, name string, dir bool) error {
	if dir {
		return unix.Mkdirat(int(parent.Fd()), name, 0o755)
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o644)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func readlinkAt(dir *os.File, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
