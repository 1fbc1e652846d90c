package repo

import (
	"errors"
	"fmt"
)

// Sentinel errors, checked with errors.Is.
var (
	ErrNotFound   = errors.New("image not found")
	ErrExists     = errors.New("image already exists")
	ErrReadOnly   = errors.New("read-only repository")
	ErrNoSquashfs = errors.New("no squashfs has been built for this image")
	ErrNotRepo    = errors.New("not a pcocc image repository")
)

// NoSquashfsError is the error of running or showing an image whose squashfs
// is missing; its text is the one users of pcocc-rs know.
type NoSquashfsError struct{ Name string }

func (e *NoSquashfsError) Error() string {
	return fmt.Sprintf("No squashfs has been built for this image: run 'pcocc image rebuild %s'", e.Name)
}

func (e *NoSquashfsError) Is(target error) bool { return target == ErrNoSquashfs }
