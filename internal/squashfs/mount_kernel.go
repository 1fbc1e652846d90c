package squashfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// MountKernel mounts the squashfs image read-only, nosuid and nodev on target
// with the kernel's squashfs driver, through a loop device. It needs
// CAP_SYS_ADMIN in the initial user namespace (root, or the Slurm plugin):
// the kernel does not let a user namespace mount squashfs.
//
// The loop device is set to clear itself when its last user goes: the mount
// holds it, so it is freed when the mount disappears, which happens when the
// mount namespace holding it dies. Nothing is left to undo.
func MountKernel(image *os.File, target string, o MountOptions) error {
	loop, err := attachLoop(image, o.Offset)
	if err != nil {
		return fmt.Errorf("setting up a loop device for %s: %w", image.Name(), err)
	}
	defer loop.Close() // the mount keeps the device; autoclear does the rest
	err = unix.Mount(loop.Name(), target, "squashfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "")
	if err != nil {
		return fmt.Errorf("mounting %s on %s: %w", image.Name(), target, err)
	}
	return nil
}

// attachLoop binds a free loop device to image, read-only and autoclear.
// Another process may take the free device first: retry a few times.
func attachLoop(image *os.File, offset int64) (*os.File, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	for range 10 {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("finding a free loop device: %w", err)
		}
		dev, err := os.OpenFile(fmt.Sprintf("/dev/loop%d", n), os.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		cfg := unix.LoopConfig{Fd: uint32(image.Fd())}
		cfg.Info.Offset = uint64(offset)
		cfg.Info.Flags = unix.LO_FLAGS_READ_ONLY | unix.LO_FLAGS_AUTOCLEAR
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if err == nil {
			return dev, nil
		}
		dev.Close()
		if !errors.Is(err, unix.EBUSY) {
			return nil, err
		}
	}
	return nil, errors.New("no free loop device after 10 tries")
}

// OpenForKernel opens the image at path, as the caller (under Slurm: the
// job's user), for the plugin's kernel mount (spank/kernel.c): a regular
// file only (no symbolic link as the last component, no FIFO, device or
// socket; O_NONBLOCK: a FIFO must not block the open), whose super block
// and tables pcocc's own reader accepts, so that a damaged image gets a
// clear error before the kernel's driver sees it.
func OpenForKernel(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%s: a symbolic link: the kernel mount takes the image's own file", path)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if _, err := sqfuse.Open(f, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
