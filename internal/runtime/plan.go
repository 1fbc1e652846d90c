package runtime

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/unpack"
)

// prepare is what Run and Hold do before init starts: the preflight, the
// image unpacked when the mount mode wants it, and the image's mount
// decided, once, in init's configuration. o.KernelTree: the Slurm
// plugin mounted the image there. The entry it returns must be
// closed once the container is gone (nil-safe).
func prepare(ctx context.Context, spec *container.Spec, hold bool, o Options) (*containerinit.Config, *unpack.Entry, error) {
	cfg, mode, err := preflight(spec)
	if err != nil {
		return nil, nil, err
	}
	cfg.Hold = hold
	if o.SqfuseExe != "" {
		cfg.SqfuseExe = o.SqfuseExe
	}
	if o.KernelTree != "" && !spec.HostRoot {
		return cfg, nil, useKernelTree(cfg, o.KernelTree)
	}
	explainMount(ctx, spec, o.Log)
	entry, err := unpackImage(ctx, cfg, mode, o)
	if err != nil {
		return nil, nil, err
	}
	cfg.Image = imageMount(spec.HostRoot, cfg.Kernel, cfg.Unpacked != "", hold, mode)
	return cfg, entry, nil
}

// imageMount decides how init mounts the image. The launcher serves it
// (sqfuse in goroutines: no server process to start, and the image is open
// while init starts) unless squashfuse_ll is asked for, or the container is
// held: a held container serves every task of the node for the whole step,
// and its init keeps a server process of its own, as it always did (the
// launcher's server is not tried under slurmstepd).
func imageMount(hostRoot, kernel, unpacked, hold bool, mode squashfs.Mode) containerinit.ImageMount {
	switch {
	case hostRoot:
		return containerinit.ImageNone
	case kernel:
		return containerinit.ImageKernel
	case unpacked:
		return containerinit.ImageUnpacked
	case hold, mode == squashfs.ModeSquashfuse:
		return containerinit.ImageFUSE
	}
	return containerinit.ImageServed
}

// explainMount logs, under -v, which mount the run uses for its image and
// why; before the unpack, so that "already unpacked" means before this run.
func explainMount(ctx context.Context, spec *container.Spec, log *slog.Logger) {
	if log == nil || !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if c, err := ExplainMount(spec); err == nil {
		log.Info(c.String())
	}
}

// useKernelTree points init at the image the Slurm plugin mounted with the
// kernel's squashfs on dir, in this process's mount namespace (a copy of
// the plugin's, spank/kernel.c): it must be a squashfs' root, and init
// opens it only if it is still the directory checked here.
func useKernelTree(cfg *containerinit.Config, dir string) error {
	var fs unix.Statfs_t
	var st unix.Stat_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return setupErr(fmt.Errorf("image %q: the plugin's kernel mount %s: %w", cfg.Spec.Image, dir, err))
	}
	if fs.Type != unix.SQUASHFS_MAGIC {
		return setupErr(fmt.Errorf("image %q: nothing mounted on %s (the plugin's kernel mount)", cfg.Spec.Image, dir))
	}
	if err := unix.Stat(dir, &st); err != nil {
		return setupErr(fmt.Errorf("image %q: the plugin's kernel mount %s: %w", cfg.Spec.Image, dir, err))
	}
	cfg.Image = containerinit.ImageKernelTree
	cfg.Unpacked, cfg.UnpackedID = dir, [2]uint64{st.Dev, st.Ino}
	return nil
}
