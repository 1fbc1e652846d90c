package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"

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
	_, err := preflight(spec)
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
	cfg, err := preflight(spec)
	if err != nil {
		return err
	}
	cfg.Hold = true
	o = o.withDefaults()
	// Only SIGKILL ends a held container (see above): nothing cancels its unpack.
	entry, err := unpackImage(context.Background(), cfg, o.Log)
	if err != nil {
		return err
	}
	defer entry.Close()
	signal.Ignore(containerinit.Forwarded...)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return setupErr(fmt.Errorf("becoming a child subreaper: %w", err))
	}
	defer reapAll()
	cmd, toInit, fromInit, err := initCommand(cfg, o)
	if err != nil {
		return setupErr(err)
	}
	// init's parent death signal fires when this thread exits: never let it.
	runtime.LockOSThread()
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		toInit.Close()
		fromInit.Close()
		return setupErr(fmt.Errorf("starting the container: %w", err))
	}
	sent := sendConfig(toInit, cfg)
	pid, fail := readHoldStatus(fromInit, o)
	if fail != nil || pid == 0 {
		waitErr := cmd.Wait()
		if _, err := exitStatus(cmd, waitErr, fail, sent); err != nil {
			return err
		}
		return setupErr(errors.New("container init ended before the container was ready"))
	}
	err = ready(Held{Init: pid})
	if err == nil {
		go func() {
			<-stop
			_ = cmd.Process.Kill()
		}()
	} else {
		_ = cmd.Process.Kill()
	}
	_ = cmd.Wait() // however init ends now, the container is over
	if err != nil {
		return setupErr(err)
	}
	return nil
}

// readHoldStatus reads init's messages to EOF: warnings to the log, then
// init's pid (it is ready) or the failure.
func readHoldStatus(r *os.File, o Options) (int, *containerinit.StatusMsg) {
	var pid int
	fail := readMessages(r, o.Log, func(p int) { pid = p })
	return pid, fail
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
