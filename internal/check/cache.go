package check

import (
	"context"
	"fmt"

	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/unpack"
)

const itemCache = "unpacked image cache"

// ImageCache reports the node cache of unpacked images that pcocc run uses
// by default (internal/unpack): a cache pcocc refuses only costs speed (FUSE
// serves the images), so its problems are warnings.
func ImageCache(_ context.Context, e *Env) []Result {
	if e.UnpackCache == nil {
		return nil
	}
	switch squashfs.Mode(e.FUSEServer) {
	case squashfs.ModeSqfuse, squashfs.ModeSquashfuse:
		return []Result{ok(itemCache, fmt.Sprintf("not used (%s=%s)", squashfs.MountEnv, e.FUSEServer))}
	}
	max, err := e.UnpackMax()
	if err != nil {
		return []Result{fail(itemCache, err.Error(), "unset it, or give a whole number of MiB")}
	}
	dir, exists, free, err := e.UnpackCache()
	if err != nil {
		return []Result{warn(itemCache, fmt.Sprintf("%v: images are served with FUSE instead", err),
			"remove or repair it, or set "+unpack.DirEnv+" to a directory of yours on a local disk")}
	}
	which := fmt.Sprintf("images of up to %d MiB are unpacked there", max)
	if squashfs.Mode(e.FUSEServer) == squashfs.ModeUnpack {
		which = "every image is unpacked there"
	}
	if !exists {
		dir += " (created at first use)"
	}
	return []Result{ok(itemCache, fmt.Sprintf("%s: %d MiB free; %s", dir, free>>20, which))}
}
