// Package filecopy copies a file's bytes into a new file: the one copy that
// the repository (when a hard link is not possible) and the VM image
// commands (across file systems) both make.
package filecopy

import (
	"io"
	"os"
)

// New copies src into dst, which must not exist yet (O_EXCL: a copy never
// writes through a file or link someone else put there). On failure a
// partly written dst is removed.
func New(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
