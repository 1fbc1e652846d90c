package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/unpack"
)

// Options of a launch.
type Options struct {
	Stdin, Stdout, Stderr *os.File // nil: the launcher's own
	// InitPath and InitArgs start init: by default pcocc-init (see
	// initProgram) and [containerinit.InitArg]. Tests point them at their
	// own binary.
	InitPath string
	InitArgs []string
	Log      *slog.Logger // warnings from the launch; nil: discarded
	// KernelTree, for Hold under Slurm: the plugin mounted the image with
	// the kernel's squashfs on this directory (spank/kernel.c).
	KernelTree string
	// Images serves the image with FUSE, or unpacks it into the node's
	// cache, when the launch needs it (sqfuse.InProcess). A value, not an
	// import, so that the launch core links no squashfs reader nor
	// decompressor: a launch of an image found unpacked, or mounted by
	// the kernel, pays for neither. nil: such a launch fails (setup error).
	Images Images
	// SqfuseExe is the program that serves the squashfs mounts init makes
	// itself (squashfs.SqfuseArg); "": this one.
	SqfuseExe string
}

// Images is the work on a squashfs image that a launch may need besides
// mounting it: unpacking it (unpack.Extractor), serving it on the
// /dev/fuse descriptor that init sends (sqfuse.ServeSent).
type Images interface {
	unpack.Extractor
	ServeSent(image *os.File, name string, sock, setupLog *os.File, runLog io.Writer) error
}

// setupErr is a failure of pcocc itself (not of the program) to set the
// container up.
func setupErr(err error) error { return exitcode.Wrap(exitcode.Setup, err) }

// Run executes spec and returns the program's exit status (128+N when a
// signal N killed it). An *exitcode.Error says pcocc could not run the program.
// When ctx is done the container is killed (its init, and the program with
// it) and Run returns an *exitcode.Error with code 137 (128+SIGKILL) once init
// is gone; signals, on the other hand, go to the program (see forwarder).
func Run(ctx context.Context, spec *container.Spec, o Options) (int, error) {
	code, err := run(ctx, spec, o)
	var le *exitcode.Error
	if errors.As(err, &le) {
		return le.Code, err
	}
	return code, err
}

func run(ctx context.Context, spec *container.Spec, o Options) (int, error) {
	o = o.withDefaults()
	cfg, entry, err := prepare(ctx, spec, false, o)
	if err != nil {
		return 0, err
	}
	defer entry.Close()
	fwd := newForwarder()
	defer fwd.stop()
	return withInit(cfg, o, fwd.setTarget, func(p *initProc) (int, error) {
		stopWatch := killOnDone(ctx, p.cmd.Process)
		code, err := p.wait()
		if stopWatch() {
			return 0, &exitcode.Error{Code: exitcode.Signaled + int(syscall.SIGKILL),
				Err: fmt.Errorf("container killed: %w", context.Cause(ctx))}
		}
		return code, err
	})
}

// killOnDone kills p (init: the program dies of its parent death signal)
// when ctx is done. The function it returns stops watching, once p was
// waited for, and says whether p was killed for ctx.
func killOnDone(ctx context.Context, p *os.Process) (stop func() bool) {
	done := make(chan struct{})
	killed := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			killed <- p.Kill() == nil
		case <-done:
			killed <- false
		}
	}()
	return func() bool {
		close(done)
		return <-killed
	}
}

func (o Options) withDefaults() Options {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.InitPath == "" {
		o.InitPath, o.InitArgs = initProgram(), []string{containerinit.InitArg}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// initProgramName is the container init program (cmd/pcocc-init), looked
// for next to pcocc, then in ../libexec/pcocc.
const initProgramName = "pcocc-init"

// initProgram returns pcocc-init when it is installed, else pcocc itself,
// which can be the init too (3 ms slower to start).
func initProgram() string {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		for _, p := range []string{
			filepath.Join(dir, initProgramName),
			filepath.Join(dir, "..", "libexec", "pcocc", initProgramName),
		} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				return p
			}
		}
	}
	return "/proc/self/exe"
}
