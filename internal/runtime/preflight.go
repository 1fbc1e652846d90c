package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/sqfsformat"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/unpack"
)

// preflight checks on the host what can be checked before any namespace
// exists, so that the common mistakes get a plain one-line error: a bad
// image file, a missing mount source, a bad mount mode, no squashfuse_ll,
// no usable /dev/fuse. It returns init's configuration but for the image's
// mount (see prepare), and the mount mode ("" when nothing is mounted with
// FUSE).
func preflight(spec *container.Spec) (*containerinit.Config, squashfs.Mode, error) {
	cfg, mode, err := checkSpec(spec)
	if err != nil {
		return nil, "", setupErr(err)
	}
	return cfg, mode, nil
}

func checkSpec(spec *container.Spec) (*containerinit.Config, squashfs.Mode, error) {
	if spec == nil || len(spec.Argv) == 0 {
		return nil, "", errors.New("empty launch spec")
	}
	cfg := &containerinit.Config{Protocol: containerinit.Protocol, Spec: spec, Kernel: os.Geteuid() == 0}
	// The init's own sqfuse servers (squashfs mounts of modules) are this
	// binary; the init may be pcocc-init, which does not serve.
	if exe, err := os.Executable(); err == nil {
		cfg.SqfuseExe = exe
	}
	if !spec.HostRoot {
		if err := squashfs.Check(spec.Rootfs, 0); err != nil {
			return nil, "", fmt.Errorf("image %q: %w", spec.Image, err)
		}
	}
	for i, m := range spec.Mounts {
		skip, err := checkSource(m)
		if err != nil {
			return nil, "", err
		}
		if skip {
			cfg.Skip = append(cfg.Skip, i)
		}
	}
	if cfg.Kernel || !needsFUSE(spec) {
		return cfg, "", nil
	}
	env, err := squashfs.ModeFromEnv()
	if err != nil {
		return nil, "", err
	}
	mode := effectiveMode(env, spec.RepoMount)
	if cfg.Squashfuse, err = mode.Squashfuse(); err != nil {
		return nil, "", err
	}
	return cfg, mode, checkFUSE()
}

// checkSource reports whether an optional mount must be skipped, or why a
// mount cannot be done.
func checkSource(m container.Mount) (skip bool, err error) {
	_, err = os.Stat(m.Source)
	switch {
	case errors.Is(err, fs.ErrNotExist) && m.Optional:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("%s: mount source %q does not exist", m.Origin, m.Source)
	case err != nil:
		return false, fmt.Errorf("%s: mount source: %w", m.Origin, err)
	}
	if m.Type == container.MountSquashfs {
		if err := squashfs.Check(m.Source, 0); err != nil {
			return false, fmt.Errorf("%s: %w", m.Origin, err)
		}
	}
	return false, nil
}

// needsFUSE: the image, or a squashfs mount. The host root alone needs no
// squashfuse_ll.
func needsFUSE(spec *container.Spec) bool {
	if !spec.HostRoot {
		return true
	}
	for _, m := range spec.Mounts {
		if m.Type == container.MountSquashfs {
			return true
		}
	}
	return false
}

func checkFUSE() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot use FUSE to mount the image: %w (/dev/fuse must be mode 0666)", err)
	}
	return f.Close()
}

// unpackImage points cfg at the image unpacked in the node-local cache
// (unpacking it on the first run of the node) when mode is unpack, or auto
// (the default) and the image is small enough (unpack.Small; to unpack it,
// the cache also needs unpack.Room); not when the kernel mounts it (root)
// or there is none (host root). The entry it returns must be held (closed) until the
// container is gone: it keeps other runs from pruning it. A damaged image
// is an error; a cache that cannot be used is worth a warning, not a failed
// job: FUSE serves the image.
func unpackImage(ctx context.Context, cfg *containerinit.Config, mode squashfs.Mode, o Options) (*unpack.Entry, error) {
	if cfg.Kernel || cfg.Spec.HostRoot {
		return nil, nil
	}
	use, auto, err := unpackWanted(cfg.Spec.Rootfs, mode)
	if !use || err != nil {
		return nil, err
	}
	e, err := unpack.Held(cfg.Spec.Rootfs)
	if err == nil && e != nil {
		cfg.Unpacked, cfg.UnpackedID = e.Dir, id(e)
		return e, nil
	}
	if auto && !unpack.Room(cfg.Spec.Rootfs) {
		return nil, nil
	}
	if o.Images == nil {
		return nil, setupErr(fmt.Errorf("image %q: not unpacked, and this program cannot unpack it", cfg.Spec.Image))
	}
	uctx, interrupted := untilSignal(ctx)
	e, err = unpack.Ensure(uctx, cfg.Spec.Rootfs, o.Images)
	if sig := interrupted(); sig != 0 {
		kept := "nothing was kept"
		if e != nil { // it was done before the signal came
			kept = "it is unpacked for the next run"
		}
		e.Close()
		return nil, &exitcode.Error{Code: exitcode.Signaled + int(sig),
			Err: fmt.Errorf("image %q: interrupted (%v) while unpacking it; %s", cfg.Spec.Image, sig, kept)}
	}
	if ctx.Err() != nil {
		e.Close()
		return nil, setupErr(fmt.Errorf("image %q: unpacking it: %w", cfg.Spec.Image, context.Cause(ctx)))
	}
	if errors.Is(err, sqfsformat.ErrFormat) {
		return nil, setupErr(fmt.Errorf("image %q: %w", cfg.Spec.Image, err))
	}
	if err != nil {
		o.Log.Warn(fmt.Sprintf("image %q not unpacked (%v): mounting it with FUSE", cfg.Spec.Image, err))
		return nil, nil
	}
	cfg.Unpacked, cfg.UnpackedID = e.Dir, id(e)
	return e, nil
}

func id(e *unpack.Entry) [2]uint64 {
	dev, ino := e.ID()
	return [2]uint64{dev, ino}
}

// unpackWanted: whether mode has the squashfs file at path unpacked, and
// whether by the automatic choice (which also wants room for it).
func unpackWanted(path string, mode squashfs.Mode) (use, auto bool, err error) {
	switch mode {
	case squashfs.ModeUnpack:
		return true, false, nil
	case squashfs.ModeAuto:
		max, err := unpack.MaxMiB()
		if err != nil {
			return false, false, setupErr(err)
		}
		return unpack.Small(path, max), true, nil
	}
	return false, false, nil
}

// untilSignal returns a context cancelled with parent or by SIGINT, SIGTERM
// or SIGHUP (an unpack takes seconds: Ctrl-C must stop it), and a function
// that stops listening and says which signal came (0: none).
func untilSignal(parent context.Context) (context.Context, func() syscall.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(parent)
	got := make(chan syscall.Signal, 1)
	go func() {
		select {
		case s := <-ch:
			cancel()
			got <- s.(syscall.Signal)
		case <-ctx.Done():
			got <- 0
		}
	}()
	return ctx, func() syscall.Signal {
		signal.Stop(ch)
		cancel()
		return <-got
	}
}
