package container

import (
	"fmt"
	"path"
)

// checkInput refuses what Plan cannot turn into a launch.
func checkInput(in Input) error {
	if !path.IsAbs(in.Host.Cwd) {
		return fmt.Errorf("host working directory %q is not absolute", in.Host.Cwd)
	}
	if !in.Image.HostRoot {
		if !path.IsAbs(in.Image.Squashfs) {
			return fmt.Errorf("image %q: squashfs path %q is not absolute", in.Image.Ref, in.Image.Squashfs)
		}
		return nil
	}
	switch {
	case in.Image.Squashfs != "":
		return fmt.Errorf("%s: a host root has no squashfs (%q given)", describeImage(in.Image), in.Image.Squashfs)
	case in.Options.Writable:
		// The overlay of --writable would be over the host's root: there is
		// nothing to protect, and writes would reach the host.
		return fmt.Errorf("%s: --writable applies to images only (the host root is written as on the host)", describeImage(in.Image))
	case in.Options.Entrypoint != nil && *in.Options.Entrypoint != "":
		return fmt.Errorf("%s: --entrypoint applies to images only (the host root has no entrypoint)", describeImage(in.Image))
	case len(in.Options.Args) == 0:
		return fmt.Errorf("%s: %w: the host root has no entrypoint; give one (pcocc run %s -- CMD [ARGS...])",
			describeImage(in.Image), ErrNoCommand, in.Image.Ref)
	}
	return nil
}

// describeImage names the image in messages.
func describeImage(img Image) string {
	if img.HostRoot {
		return fmt.Sprintf("%q (the host's root file system)", img.Ref)
	}
	return fmt.Sprintf("image %q", img.Ref)
}

func rootfsPath(img Image) string {
	if img.HostRoot {
		return ""
	}
	return path.Clean(img.Squashfs)
}
