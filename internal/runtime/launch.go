package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/sqfuse"
	"github.com/pcocc/pcocc/internal/squashfs"
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
	cfg, err := preflight(spec)
	if err != nil {
		return 0, err
	}
	o = o.withDefaults()
	entry, err := unpackImage(ctx, cfg, o.Log)
	if err != nil {
		return 0, err
	}
	defer entry.Close()
	cmd, toInit, fromInit, err := initCommand(cfg, o)
	if err != nil {
		return 0, setupErr(err)
	}
	// Parent death signals fire when the thread that forked the child exits:
	// keep this goroutine on one thread until init is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fwd := newForwarder()
	defer fwd.stop()
	if err := startServer(cfg, cmd, o.Stderr); err != nil {
		toInit.Close()
		fromInit.Close()
		for _, f := range cmd.ExtraFiles {
			f.Close()
		}
		return 0, setupErr(err)
	}
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		toInit.Close()
		fromInit.Close()
		return 0, setupErr(fmt.Errorf("starting the container: %w", err))
	}
	stopWatch := killOnDone(ctx, cmd.Process)
	sent := sendConfig(toInit, cfg)
	status := readStatus(fromInit, fwd, o.Log)
	waitErr := cmd.Wait()
	killed := stopWatch()
	fail := <-status
	if killed {
		return 0, &exitcode.Error{Code: exitcode.Signaled + int(syscall.SIGKILL),
			Err: fmt.Errorf("container killed: %w", context.Cause(ctx))}
	}
	return exitStatus(cmd, waitErr, fail, sent)
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

// startServer serves the image's squashfs from this process (sqfuse, in
// goroutines) when init would otherwise start a server: no server process
// has to start, and the server is ready, its image open, while init is still
// starting. Init mounts /dev/fuse and sends the descriptor over the socket
// it gets as fd 5 (MountSqfuseSend); fd 6 is the log where a failure to read
// the image is written, which init reports. The FUSE connection ends with
// the container's mount namespace, or when this process dies (SIGKILL
// included): the kernel then aborts it, and init dies of its parent death
// signal. A server whose init died before sending anything sees its socket
// close, and returns.
func startServer(cfg *containerinit.Config, cmd *exec.Cmd, stderr io.Writer) error {
	if cfg.Kernel || cfg.Spec.HostRoot || cfg.Unpacked != "" || cfg.Squashfuse != squashfs.SelfServer {
		return nil
	}
	image, err := os.Open(cfg.Spec.Rootfs)
	if err != nil {
		return fmt.Errorf("image %q: %w", cfg.Spec.Image, err)
	}
	initLog, serverLog, err := serverLogs()
	if err != nil {
		image.Close()
		return err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		image.Close()
		initLog.Close()
		serverLog.Close()
		return err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sqfuse-socket"), os.NewFile(uintptr(fds[1]), "sqfuse-socket")
	go func() {
		defer serverLog.Close()
		defer image.Close()
		_ = sqfuse.ServeSent(image, cfg.Spec.Rootfs, ours, serverLog, stderr)
	}()
	cmd.ExtraFiles = append(cmd.ExtraFiles, theirs, initLog)
	cfg.Server = true
	return nil
}

// serverLogs makes the in-memory log where the server reports an image it
// cannot read: one descriptor for init (the launcher closes its copies of
// init's descriptors once init has them), one for the server.
func serverLogs() (forInit, forServer *os.File, err error) {
	fd, err := unix.MemfdCreate("sqfuse-log", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the squashfs server's log: %w", err)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "sqfuse-log"), os.NewFile(uintptr(dup), "sqfuse-log"), nil
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

// initCommand prepares init in its namespaces, with the two pipes of the
// handshake. The launcher keeps the write end of the config pipe and the
// read end of the status pipe.
func initCommand(cfg *containerinit.Config, o Options) (*exec.Cmd, *os.File, *os.File, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stR, stW, err := os.Pipe()
	if err != nil {
		cfgR.Close()
		cfgW.Close()
		return nil, nil, nil, err
	}
	cmd := &exec.Cmd{
		Path: o.InitPath,
		Args: append([]string{"pcocc"}, o.InitArgs...),
		// Init needs no environment (the program's comes from the spec)
		// but this: one P, set at start-up where runtime.GOMAXPROCS(1)
		// would stop the world.
		Env:    []string{"GOMAXPROCS=1"},
		Stdin:  o.Stdin,
		Stdout: o.Stdout,
		Stderr: o.Stderr,
		// fd 3 and fd 4; Run closes them here once init has its copies, so
		// that EOF on either pipe means "the other side is gone".
		ExtraFiles:  []*os.File{cfgR, stW},
		SysProcAttr: initSysProcAttr(cfg.Kernel),
	}
	return cmd, cfgW, stR, nil
}

func initSysProcAttr(kernel bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
	}
	if kernel {
		return a
	}
	a.Cloneflags |= syscall.CLONE_NEWUSER
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	a.GidMappingsEnableSetgroups = false
	return a
}

// sendConfig writes the config and closes the pipe. A write error means init
// died early; its exit status tells why.
func sendConfig(w *os.File, cfg *containerinit.Config) error {
	defer w.Close()
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readStatus reads init's messages until EOF: warnings go to the log, the
// program's pid to the signal forwarder, and the error (if any) is returned
// on the channel.
func readStatus(r *os.File, fwd *forwarder, log *slog.Logger) <-chan *containerinit.StatusMsg {
	ch := make(chan *containerinit.StatusMsg, 1)
	go func() { ch <- readMessages(r, log, fwd.setTarget) }()
	return ch
}

// readMessages reads init's messages to EOF and closes r: warnings go to
// the log, a pid to onPid; it returns the failure, if any.
func readMessages(r *os.File, log *slog.Logger, onPid func(int)) *containerinit.StatusMsg {
	defer r.Close()
	var fail *containerinit.StatusMsg
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var m containerinit.StatusMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch {
		case m.Warning != "":
			log.Warn(m.Warning)
		case m.Error != "":
			fail = &m
		case m.Pid > 0:
			onPid(m.Pid)
		}
	}
	return fail
}

// exitStatus turns init's end into the launch's result.
func exitStatus(cmd *exec.Cmd, waitErr error, fail *containerinit.StatusMsg, sendErr error) (int, error) {
	if fail != nil {
		return fail.Code, &exitcode.Error{Code: fail.Code, Err: errors.New(fail.Error)}
	}
	st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return 0, setupErr(fmt.Errorf("container init: %w", waitErr))
	case st.Signaled():
		return 0, setupErr(fmt.Errorf("container init was killed by signal %d (%v)", int(st.Signal()), st.Signal()))
	case sendErr != nil && st.ExitStatus() != 0:
		return 0, setupErr(fmt.Errorf("container init failed (status %d) before reading its configuration: %w", st.ExitStatus(), sendErr))
	}
	return st.ExitStatus(), nil
}
