// Package atomicfile writes a file whole or not at all: into a temporary
// file of the same directory, with a name nobody else can have chosen (the
// directory may be shared), renamed over the path once written and closed.
// A reader sees the old file or the new one, never a part; a failure
// leaves the old file and no temporary one.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Write writes path with what write gives it, with mode.
func Write(path string, mode os.FileMode, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// WriteBytes writes path with b, with mode.
func WriteBytes(path string, b []byte, mode os.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
