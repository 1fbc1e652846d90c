package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Delete removes the image called name. Its blobs go with the next clean if
// no other image uses them.
func (r *Repo) Delete(name string) error {
	if r.ReadOnly {
		return fmt.Errorf("%w %q (%s): you cannot delete its images", ErrReadOnly, r.Name, r.Path)
	}
	if r.foreign != nil {
		return r.errForeignWrite("delete its images with the original pcocc")
	}
	l, err := openLock(r.join(lockFile))
	if err != nil {
		return fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	if err := l.shared(); err != nil {
		l.close()
		return fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	link := r.join("images", name)
	target, err := os.Readlink(link)
	if err == nil {
		err = os.Remove(link)
	}
	if err == nil {
		os.RemoveAll(filepath.Join(r.join("images"), target))
	}
	l.close()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q in repository %q", ErrNotFound, name, r.Name)
	}
	if err != nil {
		return fmt.Errorf("deleting image %q: %w", name, err)
	}
	r.TryClean()
	return nil
}
