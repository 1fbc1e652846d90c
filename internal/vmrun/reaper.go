package vmrun

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/pcocc/pcocc/internal/vmjob"
)

// ReaperArg is argv[1] of the reaper (pcocc-vm __reaper DIR).
const ReaperArg = "__reaper"

// StartReaper starts a process, in a session of its own, that waits for the
// process that runs the job to end, however it ends (kill -9 included), then
// kills what the job's state names and removes the job directory. The
// returned function ends the reaper's wait normally (after teardown).
func StartReaper(job *vmjob.Job) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(exe, ReaperArg, job.Dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	go cmd.Wait()
	return func() { w.Close() }, nil
}

// Reap is the reaper: it returns when stdin reaches its end (the job's
// process closed it or died), then cleans up dir unless the job is still
// held (a clean exit removed it already).
func Reap(dir string, stdin io.Reader) int {
	io.Copy(io.Discard, stdin)
	// The end of stdin may come before the dead process's lock is
	// released (a kill -9 closes its files one by one): wait for the lock.
	unlock, err := vmjob.WaitLock(dir)
	if err != nil {
		return 0 // removed: the job ended cleanly
	}
	defer unlock()
	job, _, _ := vmjob.Load(dir)
	if job != nil {
		for _, v := range job.VMs {
			killIfOurs(v.Pid, dir)
		}
		for _, p := range job.Pids {
			killIfOurs(p, "")
		}
		endShell(job)
	}
	os.RemoveAll(dir)
	return 0
}

// killIfOurs kills pid when it is still a process of this user whose
// command line names dir (a QEMU of this job, not a reused pid).
func killIfOurs(pid int, dir string) {
	if pid <= 0 {
		return
	}
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	var st syscall.Stat_t
	if syscall.Stat(proc, &st) != nil || int(st.Uid) != os.Getuid() {
		return
	}
	if dir != "" {
		cmdline, err := os.ReadFile(filepath.Join(proc, "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// endShell ends the job's script (its whole process group) or hangs up its
// interactive shell, which hangs up its own jobs.
func endShell(job *vmjob.Job) {
	if job.Shell <= 0 {
		return
	}
	if job.ShellGroup {
		syscall.Kill(-job.Shell, syscall.SIGKILL)
		return
	}
	var st syscall.Stat_t
	if syscall.Stat(filepath.Join("/proc", strconv.Itoa(job.Shell)), &st) == nil && int(st.Uid) == os.Getuid() {
		syscall.Kill(job.Shell, syscall.SIGHUP)
	}
}
