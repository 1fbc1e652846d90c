package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// UnavailableError says why a configured repository cannot be used on this
// node: its file system is not mounted here, its path names a variable this
// node does not set, the caller may not enter it, ... Commands that do not
// name the repository skip it with this as a warning; a command that names
// it fails with it. It is not a configuration error: the same file is right
// on the nodes that have the file system.
type UnavailableError struct {
	Repo   string
	Source Source // where the repository is defined
	Err    error  // why
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s: repository %s is unavailable here: %v", e.Source, e.Repo, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable wraps err, the failure to open r, as an *UnavailableError.
func (r Repository) Unavailable(err error) error {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	return &UnavailableError{Repo: r.Name, Source: r.Source, Err: err}
}

// Available checks, when a command is about to use r, that this node can
// reach it, and returns an *UnavailableError saying why not. It creates
// nothing: a missing repository whose parent exists is available (it is
// created on first use), one whose parent is missing is not, so that a
// mistyped or unmounted path never grows a tree elsewhere.
func (r Repository) Available() error {
	if r.pathErr != nil {
		return r.Unavailable(r.pathErr)
	}
	if err := reachable(r.Path); err != nil {
		return r.Unavailable(err)
	}
	return nil
}

// reachable is Available's file system part.
func reachable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, unix.ENOTDIR):
		return parentExists(path)
	case err != nil:
		return err // permission denied on a parent, a stale NFS handle, ...
	case !fi.IsDir():
		return fmt.Errorf("%q is not a directory", path)
	}
	// Reading the images needs r-x; writing is optional (shared, read-only
	// repositories).
	if err := unix.Access(path, unix.R_OK|unix.X_OK); err != nil {
		return &fs.PathError{Op: "access", Path: path, Err: err}
	}
	return nil
}

func parentExists(path string) error {
	parent := filepath.Dir(path)
	fi, err := os.Stat(parent)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("parent directory %q of %q does not exist", parent, path)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("parent %q of %q is not a directory", parent, path)
	}
	return nil
}
