package sqfuse

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// fuseFD is the /dev/fuse descriptor to serve on: N for /dev/fd/N (its
// sender mounted it), else a new mount on the directory dev.
func fuseFD(dev, name string) (int, error) {
	if fd, ok := fdArg(dev); ok {
		return fd, nil
	}
	return mountDir(dev, name)
}

// mountFlags: the image is read-only; nothing in it runs set-uid or opens
// a device.
const mountFlags = syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV

// mountDir mounts a new FUSE file system on dir, with mount(2) where the
// caller may (root, or in a user namespace), else through fusermount3 as
// any user may, and returns its /dev/fuse descriptor.
func mountDir(dir, name string) (int, error) {
	fd, err := syscall.Open("/dev/fuse", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening /dev/fuse: %w", err)
	}
	data := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,max_read=%d", fd, os.Getuid(), os.Getgid(), maxRead)
	err = syscall.Mount(name, dir, "fuse.sqfuse", mountFlags, data)
	if err == nil {
		return fd, nil
	}
	syscall.Close(fd)
	if !errors.Is(err, syscall.EPERM) {
		return -1, err
	}
	return fusermount(dir, name)
}

// fusermount has fusermount3 (or fusermount) mount dir and send back the
// descriptor on a socket named by _FUSE_COMMFD, libfuse's protocol.
func fusermount(dir, name string) (int, error) {
	bin, err := exec.LookPath("fusermount3")
	if err != nil {
		if bin, err = exec.LookPath("fusermount"); err != nil {
			return -1, errors.New("not allowed to mount, and neither fusermount3 nor fusermount is installed")
		}
	}
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	ours, theirs := os.NewFile(uintptr(pair[0]), "fusermount"), os.NewFile(uintptr(pair[1]), "fusermount")
	defer ours.Close()
	opts := fmt.Sprintf("ro,nosuid,nodev,max_read=%d,subtype=sqfuse,fsname=%s", maxRead, escapeOption(name))
	cmd := exec.Command(bin, "-o", opts, "--", dir)
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.Env = append(os.Environ(), "_FUSE_COMMFD=3")
	out, err := cmd.CombinedOutput()
	theirs.Close()
	if err != nil {
		return -1, fmt.Errorf("%s: %v: %s", bin, err, strings.TrimSpace(string(out)))
	}
	return receiveFD(ours)
}

// escapeOption escapes the commas and backslashes of a mount option's
// value, as fusermount3 reads them.
func escapeOption(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`).Replace(s)
}
