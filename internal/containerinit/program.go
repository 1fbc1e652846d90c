package containerinit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/exitcode"
)

// startProgram starts the program in the container (init has pivoted into
// it), with no privilege: see programSysProcAttr. It returns its pid.
// syscall.ForkExec rather than os/exec: nothing to copy, and os/exec's first
// start probes pidfd support with a fork of its own, on every container start.
func startProgram(cfg *Config, st *statusWriter) (int, error) {
	spec := cfg.Spec
	cwd, err := chooseCwd(spec, st)
	if err != nil {
		return 0, err
	}
	pathEnv, _ := envspec.Lookup(spec.Env, "PATH")
	prog, err := lookPath(spec.Argv[0], pathEnv, cwd)
	if err != nil {
		return 0, err
	}
	if err := dropPrivileges(cfg.Kernel); err != nil {
		return 0, err
	}
	pid, err := syscall.ForkExec(prog, spec.Argv, &syscall.ProcAttr{
		Dir: cwd, Env: spec.Env, Files: []uintptr{0, 1, 2},
		Sys: programSysProcAttr(cfg),
	})
	if err != nil {
		return 0, execError(spec.Argv[0], err)
	}
	return pid, nil
}

// waitProgram waits for the program and turns its end into an exit code.
func waitProgram(pid int) int {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == nil {
			break
		}
		if err != syscall.EINTR {
			return exitcode.Setup
		}
	}
	if ws.Signaled() {
		return exitcode.Signaled + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// squashID is the uid and gid of root's programs: nobody, nogroup.
const squashID = 65534

// programSysProcAttr: unprivileged, the program gets its own user namespace
// where the user's ids map to init's 0 (that is, to the user on the host):
// it runs as the user, and execve leaves it no capability. It dies with init.
//
// Run by root, the program runs as nobody (uid and gid 65534, no
// supplementary group), like root on an NFS export with root_squash. No
// capability is not enough for uid 0: it still gets the owner's permission
// bits of what root owns on the host, /proc/sys included (kernel.core_pattern
// is a route to root from an untrusted image), and root's files under the
// shared /tmp. (A user namespace where 0 maps to nobody would show uid 0
// inside, but uid 0 of a new user namespace gets every capability in it at
// execve, which os/exec's fork gives no point to drop.)
func programSysProcAttr(cfg *Config) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cfg.Kernel {
		a.Credential = &syscall.Credential{Uid: squashID, Gid: squashID, Groups: []uint32{}}
		return a
	}
	u := cfg.Spec.User
	a.Cloneflags = syscall.CLONE_NEWUSER
	a.UidMappings = []syscall.SysProcIDMap{{ContainerID: u.UID, HostID: 0, Size: 1}}
	a.GidMappings = []syscall.SysProcIDMap{{ContainerID: u.GID, HostID: 0, Size: 1}}
	a.GidMappingsEnableSetgroups = false
	return a
}

// dropPrivileges sets no_new_privs on this thread (the program is forked
// from it and inherits it): setuid bits and file capabilities give nothing.
// As root, it also empties the capability bounding set, so that execve as
// uid 0 yields no capability.
func dropPrivileges(kernel bool) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	if !kernel {
		return nil
	}
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	return nil
}

// chooseCwd applies the rule recorded in the plan: a working directory that
// does not exist in the container falls back to "/" with a warning, unless
// --cwd named it.
func chooseCwd(spec *container.Spec, st *statusWriter) (string, error) {
	fi, err := os.Stat(spec.Cwd)
	if err == nil && fi.IsDir() {
		return spec.Cwd, nil
	}
	if spec.CwdFrom == container.CwdOption {
		return "", fmt.Errorf("--cwd %q: no such directory in the container", spec.Cwd)
	}
	st.send(StatusMsg{Warning: fmt.Sprintf("working directory %s does not exist in the container: using /", spec.Cwd)})
	return "/", nil
}

// lookPath finds the program in the container's PATH like a shell does,
// telling "not found" (127) from "found but not executable" (126).
func lookPath(name, pathEnv, cwd string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil // execve decides; its error is mapped by execError
	}
	var notExec string
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil || fi.IsDir():
		case fi.Mode()&0o111 != 0:
			return p, nil
		case notExec == "":
			notExec = p
		}
	}
	if notExec != "" {
		return "", exitcode.Wrap(exitcode.NotExec, fmt.Errorf("%s: permission denied (not executable)", notExec))
	}
	return "", exitcode.Wrap(exitcode.NotFound, fmt.Errorf("%q: command not found in the container (PATH=%s)", name, pathEnv))
}

// execError maps the failure of execve to docker's exit codes.
func execError(name string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("starting %q: %w", name, err)
	}
	switch {
	case errors.Is(errno, fs.ErrNotExist):
		return exitcode.Wrap(exitcode.NotFound, fmt.Errorf("%q: no such file or directory in the container", name))
	case errno == unix.EACCES, errno == unix.EPERM, errno == unix.ENOEXEC, errno == unix.EISDIR, errno == unix.ETXTBSY:
		return exitcode.Wrap(exitcode.NotExec, fmt.Errorf("%q: cannot execute: %v", name, errno))
	}
	return fmt.Errorf("starting %q: %w", name, err)
}
