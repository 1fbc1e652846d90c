package vmrun

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

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
