package runtime

import (
	"context"
	"errors"
	"fmt"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
)

// Holding a container for Slurm tasks to join (spank/, internal/slurm):
//
//	helper (pcocc __spank start)        init (outer userns + mount ns)
//	preflight, clone+exec init ───────▶ builds the root, pivots
//	   ◀──────────────── {"pid":N}  ◀── status, close; then sleeps (no program)
//	ready(N) → the plugin
//	wait for init (until SIGKILL)
//
// Each task then joins, in the SPANK plugin's C code (single-threaded, as
// the user): init's user namespace (the user owns it), its mount namespace
// (the task now has CAP_SYS_ADMIN over it), then a user namespace of its
// own, made with unshare and mapped like pcocc run's program (the user's
// ids to init's 0): the task runs as itself and execve leaves it no
// capability, in the same mounts as every task of the node. Init runs no
// program because the image may have nothing to run: a dynamically linked
// pcocc cannot run inside a busybox image. Lifetimes chain with parent
// death signals: slurmstepd → helper → init → squashfuse_ll; the plugin
// SIGKILLs the helper when the step ends.

// Held is a container whose init holds it for others to join.
type Held struct {
	Init int // pid of init, in the container's user and mount namespaces
}

// Preflight checks spec as Run would before creating any namespace.
func Preflight(spec *container.Spec) error {
	_, _, err := preflight(spec)
	return err
}

// Hold sets up spec without running its program, calls ready once the root
// is built, and returns when stop is closed (init is then killed) or init
// ends. The caller is made a child subreaper, so that init's children
// (squashfuse_ll) are reaped here before Hold returns: when it does, nothing
// of the container is left. Signals that would end a launcher are ignored: only SIGKILL (or the
// death of the caller's parent, through a parent death signal the caller
// sets) ends a held container, so that tasks finishing on SIGTERM keep their
// files. An *exitcode.Error says the container could not be set up.
func Hold(spec *container.Spec, o Options, ready func(Held) error, stop <-chan struct{}) error {
	o = o.withDefaults()
	// Only SIGKILL ends a held container (see above): nothing cancels its unpack.
	cfg, entry, err := prepare(context.Background(), spec, true, o)
	if err != nil {
		return err
	}
	defer entry.Close()
	signal.Ignore(containerinit.Forwarded...)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return setupErr(fmt.Errorf("becoming a child subreaper: %w", err))
	}
	defer reapAll()
	_, err = withInit(cfg, o, nil, func(p *initProc) (int, error) {
		return 0, holdInit(p, ready, stop)
	})
	return err
}

// holdInit calls ready once init reports the container built, then waits
// for init, which is killed when stop is closed or ready fails.
func holdInit(p *initProc, ready func(Held) error, stop <-chan struct{}) error {
	if fail := p.statusEnded(); fail != nil || p.pid == 0 {
		if _, err := p.wait(); err != nil {
			return err
		}
		return setupErr(errors.New("container init ended before the container was ready"))
	}
	err := ready(Held{Init: p.pid})
	if err == nil {
		go func() {
			<-stop
			_ = p.cmd.Process.Kill()
		}()
	} else {
		_ = p.cmd.Process.Kill()
	}
	_ = p.cmd.Wait() // however init ends now, the container is over
	if err != nil {
		return setupErr(err)
	}
	return nil
}

// reapAll waits for every child left, init's orphans included (they die of
// their parent death signal).
func reapAll() {
	for {
		_, err := unix.Wait4(-1, nil, 0, nil)
		if err != nil && err != unix.EINTR {
			return
		}
	}
}
