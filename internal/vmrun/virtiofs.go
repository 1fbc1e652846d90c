package vmrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
)

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
	return "", fmt.Errorf("mount-points need virtiofsd: install qemu-system-common (/usr/lib/qemu/virtiofsd) or virtiofsd")
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
					d.what, lastLine(d.log))
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
