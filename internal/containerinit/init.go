package containerinit

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/squashfs"
)

// Init is the container init: the body of `pcocc __pcocc_init`, run by Run
// in new namespaces (see the package documentation). It returns the exit
// code of the process. It must run before anything else starts goroutines
// that fork or change per-thread state.
func Init(args []string) int {
	// Signals sent to the whole process group (Ctrl-C, a group kill) must
	// not kill init: its death would kill the program. The launcher forwards
	// them to the program. See ignoreSignals for why not signal.Notify.
	ignoreErr := ignoreSignals(Forwarded)
	// Every system call with per-thread effect (parent death signals of the
	// children, no_new_privs, capability bounding set) happens on this
	// thread, and the children are forked from it. (The launcher starts
	// init with GOMAXPROCS=1 in its environment: one thread is enough.)
	runtime.LockOSThread()
	// Only stdin, stdout and stderr reach the program: not what the launcher
	// handed over (fd 3 to 6), nor what its caller left open without
	// close-on-exec (a shell's `exec 7<dir`: host files the container does
	// not show). Go passes such descriptors on to the processes it starts.
	closeErr := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)

	st := &statusWriter{f: os.NewFile(statusFD, "status")}
	defer st.close()
	if closeErr != nil {
		st.send(StatusMsg{Error: fmt.Sprintf("container init: marking descriptors close-on-exec: %v", closeErr), Code: exitcode.Setup})
		return exitcode.Setup
	}
	if ignoreErr != nil {
		st.send(StatusMsg{Error: fmt.Sprintf("container init: ignoring the group's signals: %v", ignoreErr), Code: exitcode.Setup})
		return exitcode.Setup
	}
	cfg, err := readConfig(os.NewFile(configFD, "config"))
	if err != nil {
		st.send(StatusMsg{Error: fmt.Sprintf("container init: reading the launch configuration: %v", err), Code: exitcode.Setup})
		return exitcode.Setup
	}
	if cfg.Protocol != Protocol {
		exe, _ := os.Executable()
		st.send(StatusMsg{Error: fmt.Sprintf("container init %s is from another version of pcocc (protocol %d, pcocc sent %d): reinstall pcocc", exe, Protocol, cfg.Protocol), Code: exitcode.Setup})
		return exitcode.Setup
	}
	return runInit(cfg, st)
}

// runInit sets the container up, runs the program and returns its status.
func runInit(cfg *Config, st *statusWriter) int {
	servers, err := setupRoot(cfg, st)
	defer stopServers(servers)
	if err != nil {
		st.send(StatusMsg{Error: err.Error(), Code: exitcode.Setup})
		return exitcode.Setup
	}
	if cfg.Hold {
		return holdForever(st)
	}
	pid, err := startProgram(cfg, st)
	if err != nil {
		code := exitcode.OfOr(err, exitcode.Setup)
		st.send(StatusMsg{Error: err.Error(), Code: code})
		return code
	}
	st.send(StatusMsg{Pid: pid})
	st.close()
	return waitProgram(pid)
}

func stopServers(servers []*squashfs.FUSEServer) {
	for _, s := range servers {
		s.Stop()
	}
}

// holdForever is init's body in hold mode once the root is built: it is
// the process whose namespaces the tasks join, and it dies by SIGKILL (its
// parent death signal; squashfuse_ll follows through its own).
func holdForever(st *statusWriter) int {
	st.send(StatusMsg{Pid: os.Getpid()})
	st.close()
	for {
		time.Sleep(math.MaxInt64)
	}
}
