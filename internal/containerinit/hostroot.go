package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// buildHost makes the host's root file system the container's root (the
// host-passthrough template): a recursive clone of "/" replaces the image
// and its overlay. Everything the host has mounted comes with it, /proc,
// /dev, /sys and /tmp included, so no system mount is needed; the mounts of
// the plan then go over host paths, in the container's namespace only.
func (r *root) buildHost() error {
	// Cloned before the scratch tmpfs covers /tmp: the clone keeps the
	// host's /tmp, as it keeps every other mount.
	host, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("cloning the host's root file system: %w", err)
	}
	defer unix.Close(host)
	srcs, err := openSources(r.cfg)
	if err != nil {
		return err
	}
	defer srcs.close()
	// The scratch still holds the squashfs mounts' temporary targets and
	// the FUSE logs.
	if err := unix.Mount("tmpfs", scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("mounting the scratch tmpfs: %w", err)
	}
	newRoot := scratch + "/root"
	if err := os.Mkdir(newRoot, 0o700); err != nil {
		return err
	}
	if err := unix.MoveMount(host, "", unix.AT_FDCWD, newRoot, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attaching the host's root file system: %w", err)
	}
	dir, err := os.OpenFile(newRoot, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	r.dir, r.host = dir, true
	if err := r.mountAll(srcs); err != nil {
		return err
	}
	return r.pivot()
}

// target returns the mount point of dst. On an image it is created when
// missing (in the overlay); on the host root it must exist: creating it
// would create it on the host.
func (r *root) target(dst string, dir bool) (*os.File, error) {
	if !r.host {
		return ensureTarget(r.dir, r.dev, dst, dir)
	}
	f, err := openIn(r.dir, strings.TrimPrefix(path.Clean(dst), "/"), unix.O_PATH, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("mount point %s does not exist on the host: with the host's root file system, pcocc mounts over existing paths only", dst)
	}
	return f, err
}
