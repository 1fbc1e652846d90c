package squashfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// Check reports whether the file at path holds a squashfs at offset whose
// super block pcocc's reader accepts (sqfsformat), with a one-line error
// naming the file when it does not: cheaper and clearer than a mount that
// fails later in a namespace. A FIFO, device or directory is refused; the
// open does not wait for a FIFO's writer.
func Check(path string, offset int64) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if _, err := sqfsformat.ReadSuperblock(f, offset); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MountOptions are the options of a squashfs mount.
type MountOptions struct {
	Offset int64 // where the squashfs starts in the file (SIF images)
}
