package squashfs

import (
	"fmt"
	"os"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// Check reports whether the file at path holds a squashfs at offset whose
// super block pcocc's reader accepts (sqfsformat), with a one-line error
// naming the file when it does not: cheaper and clearer than a mount that
// fails later in a namespace.
func Check(path string, offset int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := sqfsformat.ReadSuperblock(f, offset); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MountOptions are the options of a squashfs mount.
type MountOptions struct {
	Offset int64 // where the squashfs starts in the file (SIF images)
}
