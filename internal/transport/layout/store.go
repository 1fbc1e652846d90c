// Package layout reads and writes the files of an image layout, in a
// directory or in a tar archive (a file, or a stream an engine exports):
// what the docker-archive, OCI layout and Docker engine transports share.
package layout

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/imagesrc"
)

// Store gives access to the files of an image layout kept in a directory
// or in a tar archive.
type Store interface {
	// Open returns a file's content and size; a missing file gives an
	// error matching fs.ErrNotExist.
	Open(name string) (io.ReadCloser, int64, error)
	Close() error
}

// Dir is a layout in a directory. Callers only pass names they built from
// validated digests.
type Dir string

// Open opens the regular file name of the layout.
func (d Dir) Open(name string) (io.ReadCloser, int64, error) {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%q is not a regular file", name)
	}
	return f, fi.Size(), nil
}

// Close does nothing.
func (Dir) Close() error { return nil }

// ReadSmall reads a whole (small) file of the store.
func ReadSmall(st Store, name string) ([]byte, error) {
	rc, size, err := st.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > imagesrc.MaxJSON {
		return nil, fmt.Errorf("%q is too large (%d bytes)", name, size)
	}
	return io.ReadAll(io.LimitReader(rc, imagesrc.MaxJSON))
}

// Opener returns a Layer.Open reading name from st.
func Opener(st Store, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		rc, _, err := st.Open(name)
		return rc, err
	}
}

// memFile is a small member of a streamed archive kept in memory.
func memFile(b []byte) (io.ReadCloser, int64, error) {
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}
