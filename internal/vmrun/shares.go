package vmrun

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// LockDrives takes an exclusive lock (flock) on each persistent drive the
// cluster may not share with others, for as long as it runs: a second
// cluster, of this user or another, is refused with one line naming the
// holder, before anything starts. QEMU's own locks would refuse it too,
// later and without a name. The locks are open descriptors: they go with
// this process, however it ends. release frees them (after the VMs).
func LockDrives(job *vmjob.Job, vms []vm.VM) (_ func(), err error) {
	var locks []*os.File
	release := func() {
		for _, f := range locks {
			f.Close()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	for _, v := range vms {
		for _, d := range v.Template.Drives {
			if d.Share == vm.ShareAny || slices.Contains(job.Drives, d.Path) {
				continue
			}
			f, err := os.Open(d.Path)
			if err != nil {
				return nil, fmt.Errorf("%s: persistent drive: %w", v.Name, err)
			}
			if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
				f.Close()
				if errors.Is(err, unix.EWOULDBLOCK) {
					return nil, fmt.Errorf("persistent drive %s is in use by %s", d.Path, driveHolder(filepath.Dir(job.Dir), d.Path))
				}
				return nil, fmt.Errorf("persistent drive %s: cannot lock it: %w", d.Path, err)
			}
			locks = append(locks, f)
			job.Drives = append(job.Drives, d.Path)
		}
	}
	if len(locks) == 0 {
		return release, nil
	}
	return release, job.Save()
}

// driveHolder names the user's running job that holds path, as far as this
// user can see.
func driveHolder(base, path string) string {
	jobs, _ := vmjob.List(base)
	for _, j := range jobs {
		if slices.Contains(j.Drives, path) {
			if j.Name != "" {
				return fmt.Sprintf("your job %d (%s)", j.ID, j.Name)
			}
			return fmt.Sprintf("your job %d", j.ID)
		}
	}
	return "another program (another user's cluster, or a QEMU outside pcocc)"
}

// virtiofsdPaths are where virtiofsd is looked for: Debian's qemu ships it
// outside PATH; the Rust virtiofsd installs in libexec or PATH.
var virtiofsdPaths = []string{"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd"}

func findVirtiofsd() (string, error) {
	for _, p := range virtiofsdPaths {
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("virtiofsd"); err == nil {
		return p, nil
	}
	return "", errors.New("mount-points need virtiofsd: install qemu-system-common (/usr/lib/qemu/virtiofsd) or virtiofsd")
}

// startShares starts one virtiofsd per mount of every VM, all at once,
// and waits for their sockets. Each dies with this process (setpriv in
// vm.FSDaemonArgv) and is killed by Stop and by the reaper.
func (c *Cluster) startShares() error {
	type daemon struct {
		proc
		sock, log, what string
	}
	var ds []daemon
	for _, v := range c.VMs {
		if len(v.Template.Mounts) == 0 {
			continue
		}
		bin, err := findVirtiofsd()
		if err != nil {
			return err
		}
		for k, m := range v.Template.Mounts {
			d := daemon{sock: v.FSSocket(k), log: filepath.Join(c.Job.Dir, fmt.Sprintf("%s-fs%d.log", v.Name, k)),
				what: fmt.Sprintf("%s: mount point %q (%s)", v.Name, m.Tag, m.Path)}
			p, err := c.startDaemon(vm.FSDaemonArgv(v, k, bin), d.log)
			if err != nil {
				return fmt.Errorf("%s: %w", d.what, err)
			}
			d.proc = p
			ds = append(ds, d)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, d := range ds {
		for {
			if _, err := os.Stat(d.sock); err == nil {
				break
			}
			select {
			case <-d.done:
				return fmt.Errorf("%s: virtiofsd ended (%s); it needs your subordinate ids in /etc/subuid and /etc/subgid, and newuidmap (docs/vm-admin.md)",
					d.what, strings.TrimSpace(tail(d.log, 1)))
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: virtiofsd did not serve in 15 s%s", d.what, tail(d.log, 3))
			}
		}
	}
	return nil
}

// startDaemon starts a helper process, in a process group of its own,
// logging to log; Stop kills the group.
func (c *Cluster) startDaemon(argv []string, log string) (proc, error) {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return proc{}, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return proc{}, err
	}
	p := proc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	c.daemons = append(c.daemons, p)
	c.Job.Pids = append(c.Job.Pids, cmd.Process.Pid)
	return p, nil
}
