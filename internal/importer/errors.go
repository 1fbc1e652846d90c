package importer

import "errors"

// Errors matched with errors.Is.
var (
	// ErrNoLayers: the image was imported as a squashfs (from a SIF) and
	// has no layers to export or rebuild from.
	ErrNoLayers = errors.New("the image has no layers (it was imported from a squashfs, as SIF images are)")
)
