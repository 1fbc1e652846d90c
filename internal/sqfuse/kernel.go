package sqfuse

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// (Here, not in internal/squashfs beside MountKernel: it runs the full
// reader, which the launcher must not link; only pcocc-cli's
// `__spank image` calls it.)

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
	if _, err := Open(f, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
