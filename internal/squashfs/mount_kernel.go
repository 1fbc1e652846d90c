package squashfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
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
