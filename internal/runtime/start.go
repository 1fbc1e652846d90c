package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
)

// The launch core: the one way Run and Hold start init, hand it its
// configuration, read its status and turn its end into a result.

// initProc is a started init whose configuration was sent.
type initProc struct {
	cmd    *exec.Cmd
	sent   error                           // writing the configuration
	status <-chan *containerinit.StatusMsg // init's failure (or nil), at the end of its status
	pid    int                             // the pid init reported, once status ended
	fail   *containerinit.StatusMsg
	ended  bool // status was read
}

// withInit starts init for cfg and gives it to use, which must wait for it
// (initProc.wait). onPid gets the pid init reports: the program's, or in
// hold mode its own.
func withInit(cfg *containerinit.Config, o Options, onPid func(int), use func(*initProc) (int, error)) (int, error) {
	// Parent death signals fire when the thread that forked the child
	// exits: keep this goroutine on one thread until init is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := startInit(cfg, o, onPid)
	if err != nil {
		return 0, err
	}
	return use(p)
}

// startInit starts init with the handshake's pipes (and the image's
// server, when the launcher serves it), closes the launcher's copies of
// init's descriptors, and sends the configuration.
func startInit(cfg *containerinit.Config, o Options, onPid func(int)) (*initProc, error) {
	cmd, toInit, fromInit, err := initCommand(cfg, o)
	if err != nil {
		return nil, setupErr(err)
	}
	err = startServer(cfg, cmd, o)
	if err == nil {
		err = cmd.Start()
		if err != nil {
			err = fmt.Errorf("starting the container: %w", err)
		}
	}
	for _, f := range cmd.ExtraFiles {
		f.Close()
	}
	if err != nil {
		toInit.Close()
		fromInit.Close()
		return nil, setupErr(err)
	}
	status := make(chan *containerinit.StatusMsg, 1)
	p := &initProc{cmd: cmd, status: status}
	go func() {
		status <- readMessages(fromInit, o.Log, func(pid int) {
			p.pid = pid // read once status is received from: no race
			if onPid != nil {
				onPid(pid)
			}
		})
	}()
	p.sent = sendConfig(toInit, cfg)
	return p, nil
}

// statusEnded waits for the end of init's status (it closes it once the
// program runs, or when it fails or dies) and returns the failure, if any.
func (p *initProc) statusEnded() *containerinit.StatusMsg {
	if !p.ended {
		p.fail, p.ended = <-p.status, true
	}
	return p.fail
}

// wait waits for init and returns the launch's result.
func (p *initProc) wait() (int, error) {
	waitErr := p.cmd.Wait()
	return exitStatus(p.cmd, waitErr, p.statusEnded(), p.sent)
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
