package squashfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Magic is the first four bytes of a squashfs super block.
var Magic = []byte("hsqs")

// ErrNotSquashfs says that a file does not start with a squashfs super block.
var ErrNotSquashfs = errors.New("not a squashfs file")

// Check reports whether the file at path holds a squashfs at offset, with a
// one-line error naming the file when it does not: cheaper and clearer than a
// mount that fails later in a namespace.
func Check(path string, offset int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(Magic))
	if _, err := f.ReadAt(head, offset); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if !bytes.Equal(head, Magic) {
		return fmt.Errorf("%s: %w (corrupt or truncated image?)", path, ErrNotSquashfs)
	}
	return nil
}

// MountOptions are the options of a squashfs mount.
type MountOptions struct {
	Offset int64 // where the squashfs starts in the file (SIF images)
}
