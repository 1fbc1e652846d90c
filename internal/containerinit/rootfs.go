package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/safeopen"
	"github.com/pcocc/pcocc/internal/squashfs"
)

// scratch is where init mounts a tmpfs for its own directories (image mount,
// overlay layers). It covers the host's /tmp, but only in the container's
// private mount namespace, after the sources under it were cloned: nothing
// is ever created on the host, so nothing needs removing.
const scratch = "/tmp"

// root is the container's root file system while init builds it.
type root struct {
	cfg     *Config
	dir     *os.File // O_PATH descriptor of the overlay's root
	dev     uint64   // its st_dev: mount points are created on it only
	host    bool     // the root is the host's (see buildHost)
	servers []*squashfs.FUSEServer
	st      *statusWriter // warnings for the user
}

func (r *root) warn(msg string) { r.st.send(StatusMsg{Warning: msg}) }

// setupRoot builds the container's root and pivots into it. It returns the
// FUSE servers it started (to stop at exit), also on error.
func setupRoot(cfg *Config, st *statusWriter) ([]*squashfs.FUSEServer, error) {
	r := &root{cfg: cfg, st: st}
	err := r.build()
	return r.servers, err
}

func (r *root) build() error {
	// First of all: no mount of ours may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mount namespace private: %w", err)
	}
	unpin, err := pinExecutables(r.cfg)
	if err != nil {
		return err
	}
	defer unpin()
	if r.cfg.Spec.HostRoot {
		return r.buildHost()
	}
	image, err := r.openImage()
	if err != nil {
		return fmt.Errorf("image %q: %w", r.cfg.Spec.Image, err)
	}
	defer image.Close()
	srcs, err := openSources(r.cfg)
	if err != nil {
		return err
	}
	defer srcs.close()
	if err := r.mountImage(image); err != nil {
		return err
	}
	if err := writeIdentity(r.dir, r.cfg.Spec.User, r.warn); err != nil {
		return err
	}
	if err := r.mountAll(srcs); err != nil {
		return err
	}
	if !r.cfg.Spec.Writable {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(int(r.dir.Fd()), "", unix.AT_EMPTY_PATH, &attr); err != nil {
			return fmt.Errorf("making the image read-only: %w", err)
		}
	}
	return r.pivot()
}

// mountImage mounts a scratch tmpfs, the image in it, and an overlay whose
// upper layer is in the tmpfs: mount points and /etc/passwd can then be
// created without touching the image, and --writable is the same overlay
// left writable.
func (r *root) mountImage(image *imageSource) error {
	if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("mounting the scratch tmpfs: %w", err)
	}
	// The overlay's root takes the upper directory's mode: make it the usual
	// 0755 of a root directory.
	for _, d := range []string{"lower", "upper", "work", "root"} {
		if err := os.Mkdir(filepath.Join(scratch, d), 0o700); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(scratch, "upper"), 0o755); err != nil {
		return err
	}
	lower := filepath.Join(scratch, "lower")
	if err := r.mountLower(image, lower); err != nil {
		return fmt.Errorf("image %q: %w", r.cfg.Spec.Image, err)
	}
	opts := "lowerdir=" + lower + ",upperdir=" + scratch + "/upper,workdir=" + scratch + "/work"
	if err := unix.Mount("overlay", scratch+"/root", "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting the overlay over the image: %w", err)
	}
	dir, err := os.OpenFile(scratch+"/root", unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	r.dir = dir
	var st unix.Stat_t
	if err := unix.Fstat(int(dir.Fd()), &st); err != nil {
		return err
	}
	r.dev = st.Dev
	return nil
}

// imageSource is the image: its squashfs file, or, unpacked, a detached
// read-only clone of its tree in the node-local cache (taken before the
// scratch tmpfs covers /tmp, where the cache may be).
type imageSource struct {
	file *os.File
	tree int // open_tree descriptor; -1 for a squashfs file
}

func (s *imageSource) Close() error {
	if s.tree >= 0 {
		unix.Close(s.tree)
	}
	if s.file != nil {
		return s.file.Close()
	}
	return nil
}

func (r *root) openImage() (*imageSource, error) {
	if r.cfg.Image != ImageUnpacked && r.cfg.Image != ImageKernelTree {
		f, err := os.Open(r.cfg.Spec.Rootfs)
		if err != nil {
			return nil, err
		}
		return &imageSource{file: f, tree: -1}, nil
	}
	dir, err := openUnpacked(r.cfg.Unpacked, r.cfg.UnpackedID)
	if err != nil {
		return nil, fmt.Errorf("unpacked copy %s: %w", r.cfg.Unpacked, err)
	}
	fd, err := unix.OpenTree(dir, "", unix.AT_EMPTY_PATH|unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	unix.Close(dir)
	if err != nil {
		return nil, fmt.Errorf("unpacked copy %s: %w", r.cfg.Unpacked, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("unpacked copy %s: %w", r.cfg.Unpacked, err)
	}
	return &imageSource{tree: fd}, nil
}

// openUnpacked opens the unpacked tree at path, following no symbolic
// link, and only if it is the directory id (device, inode) that the
// launcher checked and holds open: whoever can rename a directory above the
// cache could otherwise put another tree there between that check and this
// open (the cache is on a shared disk, its parents may be others').
func openUnpacked(path string, id [2]uint64) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := safeopen.Openat2(unix.AT_FDCWD, path, how)
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if st.Dev != id[0] || st.Ino != id[1] {
		unix.Close(fd)
		return -1, errors.New("not the directory that was checked (a directory above it was renamed meanwhile)")
	}
	return fd, nil
}

// mountLower puts the image on lower, as the plan says.
func (r *root) mountLower(image *imageSource, lower string) error {
	switch r.cfg.Image {
	case ImageUnpacked, ImageKernelTree:
		return unix.MoveMount(image.tree, "", unix.AT_FDCWD, lower, unix.MOVE_MOUNT_F_EMPTY_PATH)
	case ImageServed:
		return mountServed(image.file, lower)
	case ImageKernel, ImageFUSE:
		return r.mountSquashfs(image.file, lower, "image")
	}
	return fmt.Errorf("unknown way to mount the image %q", r.cfg.Image)
}

// mountServed mounts /dev/fuse on target and sends it to the launcher's
// server (fd 5), which reports an image it cannot read on fd 6.
func mountServed(f *os.File, target string) error {
	sock := os.NewFile(serverSockFD, "sqfuse-socket")
	log := os.NewFile(serverLogFD, "sqfuse-log")
	defer log.Close()
	srv, err := squashfs.MountSqfuseSend(sock, f, target, log)
	if err != nil {
		return err
	}
	return srv.Ready(target)
}

// mountSquashfs mounts a squashfs file on target: with the kernel driver as
// root, else with a FUSE server of its own. name names the server's log in
// the scratch.
func (r *root) mountSquashfs(f *os.File, target, name string) error {
	if r.cfg.Kernel {
		return squashfs.MountKernel(f, target, squashfs.MountOptions{})
	}
	log, err := os.Create(filepath.Join(scratch, name+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	srv, err := squashfs.MountServer(r.cfg.Squashfuse, r.cfg.SqfuseExe, f, target, squashfs.MountOptions{}, log)
	if err != nil {
		return err
	}
	r.servers = append(r.servers, srv)
	return srv.Ready(target)
}

func (r *root) mountAll(srcs *sources) error {
	for i, m := range r.cfg.Spec.Mounts {
		if err := r.mount(i, m, srcs); err != nil {
			return fmt.Errorf("mounting %s on %s (%s): %w", m.Source, m.Destination, m.Origin, err)
		}
	}
	return nil
}

// mount puts mount i in place.
func (r *root) mount(i int, m container.Mount, srcs *sources) error {
	if slices.Contains(r.cfg.Skip, i) {
		return nil
	}
	target, err := r.target(m.Destination, srcs.isDir[i])
	if err != nil && m.Origin == container.OriginPcocc && !srcs.isDir[i] &&
		(errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		// /etc/hosts or /etc/resolv.conf in an /etc that belongs to an
		// image user who is neither you nor root: a convenience, not a need.
		r.warn(fmt.Sprintf("not mounting the host's %s: %v", m.Destination, err))
		return nil
	}
	if err != nil {
		return err
	}
	defer target.Close()
	switch m.Type {
	case container.MountBind:
		return unix.MoveMount(srcs.fds[i], "", int(target.Fd()), "",
			unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	case container.MountSquashfs:
		return r.mountSquashfsAt(i, srcs, target)
	}
	return fmt.Errorf("unknown mount type %q", m.Type)
}

// mountSquashfsAt mounts a squashfs in the scratch, then moves the mount onto
// the target (mount(2) needs a path; the target is only safe as a descriptor).
func (r *root) mountSquashfsAt(i int, srcs *sources, target *os.File) error {
	tmp := filepath.Join(scratch, "sq"+strconv.Itoa(i))
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	f := os.NewFile(uintptr(srcs.fds[i]), r.cfg.Spec.Mounts[i].Source)
	srcs.fds[i] = -1 // f owns it now
	defer f.Close()
	if err := r.mountSquashfs(f, tmp, "sq"+strconv.Itoa(i)); err != nil {
		return err
	}
	return unix.MoveMount(unix.AT_FDCWD, tmp, int(target.Fd()), "", unix.MOVE_MOUNT_T_EMPTY_PATH)
}

// pivot makes the overlay the root and detaches the old one, scratch
// included (the mounts that use it keep it alive).
func (r *root) pivot() error {
	if err := unix.Fchdir(int(r.dir.Fd())); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host root: %w", err)
	}
	r.dir.Close()
	return unix.Chdir("/")
}

// sources holds, per mount index, a detached clone of a bind source (taken
// before the scratch covers /tmp) or an open squashfs file.
type sources struct {
	fds   []int
	isDir []bool
}

func openSources(cfg *Config) (*sources, error) {
	n := len(cfg.Spec.Mounts)
	s := &sources{fds: make([]int, n), isDir: make([]bool, n)}
	for i := range s.fds {
		s.fds[i] = -1
	}
	for i, m := range cfg.Spec.Mounts {
		if slices.Contains(cfg.Skip, i) {
			continue
		}
		fd, isDir, err := openSource(m)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%s: mount source %q: %w", m.Origin, m.Source, err)
		}
		s.fds[i], s.isDir[i] = fd, isDir
	}
	return s, nil
}

func openSource(m container.Mount) (int, bool, error) {
	if m.Type == container.MountSquashfs {
		fd, err := unix.Open(m.Source, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return fd, true, err
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, m.Source,
		unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return -1, false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, false, err
	}
	if m.ReadOnly {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			unix.Close(fd)
			return -1, false, fmt.Errorf("making it read-only: %w", err)
		}
	}
	return fd, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

func (s *sources) close() {
	for _, fd := range s.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

var errNotOnImage = errors.New("its parent is not part of the image (a host directory mounted there): pcocc does not create directories on the host")
