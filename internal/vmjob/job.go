// Package vmjob keeps the state of the user's VM clusters (jobs) of the local
// batch manager: one directory per job, mode 0700, under a per-user base
// directory, holding state.json (the VMs, their processes and ports), the
// QMP and console sockets, console logs and the disk overlays. The process
// that runs a job holds an exclusive lock on the job's lock file: a job
// whose lock is free is over (its directory is being or was left to be
// removed).
package vmjob

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/atomicfile"
)

// VM is a running VM's state.
type VM struct {
	Name     string `json:"name"`
	Template string `json:"template"`
	Image    string `json:"image,omitempty"`     // the image the overlay backs onto
	ImageRef string `json:"image_ref,omitempty"` // its revision, [REPO:]NAME@REV
	Pid      int    `json:"pid,omitempty"`       // qemu
	SSHPort  int    `json:"ssh_port,omitempty"`  // host loopback port forwarded to the VM's port 22
	Addr     string `json:"addr,omitempty"`      // on the cluster network
	// Host is the address its Ports are on: "" is the loopback (the local
	// batch manager), a node's address under Slurm (reverse NAT).
	Host string `json:"host,omitempty"`
	Node string `json:"node,omitempty"` // under Slurm: the node it runs on
	// Ports maps the guest's forwarded TCP ports (22 and the template's)
	// to host loopback ports.
	Ports map[int]int `json:"ports,omitempty"`
}

// State is what state.json holds.
type State struct {
	ID      int       `json:"id"`
	Name    string    `json:"name,omitempty"`
	Pid     int       `json:"pid"` // the process that runs the job
	Batch   bool      `json:"batch,omitempty"`
	Output  string    `json:"output,omitempty"` // batch output file
	Created time.Time `json:"created"`
	VMs     []VM      `json:"vms"`
	// Pids are more processes to kill at the end (network holder, ...).
	Pids []int `json:"pids,omitempty"`
	// Drives are the persistent drives the job holds locked (their paths),
	// to name the job to another that wants one.
	Drives []string `json:"drives,omitempty"`
	// Shell is the job's shell, or its script's process group when
	// ShellGroup: ended with the job even when its process is killed.
	Shell      int  `json:"shell,omitempty"`
	ShellGroup bool `json:"shell_group,omitempty"`
	// Slurm: a Slurm cluster seen from etcd (no directory of its own here).
	Slurm bool `json:"slurm,omitempty"`
}

// Job is a job directory.
type Job struct {
	State
	Dir  string
	lock *os.File // held by the job's process
}

const (
	stateFile = "state.json"
	lockFile  = "lock"
)

// Create makes a new job directory under base with the next free id and
// takes its lock; the caller owns the job until Remove.
func Create(base, name string) (*Job, error) {
	if err := checkBase(base); err != nil {
		return nil, err
	}
	if name != "" {
		if j, err := FindName(base, name); err == nil {
			return nil, fmt.Errorf("a running cluster is already named %q (job %d)", name, j.ID)
		}
	}
	unlock, err := lockPath(filepath.Join(base, "ids.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	sweepRemoved(base)
	id, err := nextID(base)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, strconv.Itoa(id))
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("job directory: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		err = unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("job lock: %w", err)
	}
	j := &Job{State: State{ID: id, Name: name, Pid: os.Getpid(), Created: time.Now().UTC()}, Dir: dir, lock: lf}
	if err := j.Save(); err != nil {
		j.Remove()
		return nil, err
	}
	return j, nil
}

// nextID reads and bumps base/next-id, skipping ids whose directory exists.
func nextID(base string) (int, error) {
	p := filepath.Join(base, "next-id")
	id := 1
	if b, err := os.ReadFile(p); err == nil {
		if n, err := strconv.Atoi(string(b)); err == nil && n > 0 {
			id = n
		}
	}
	for ; ; id++ {
		if _, err := os.Lstat(filepath.Join(base, strconv.Itoa(id))); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err := atomicfile.WriteBytes(p, []byte(strconv.Itoa(id+1)), 0o600); err != nil {
		return 0, err
	}
	return id, nil
}

// Save writes state.json atomically.
func (j *Job) Save() error {
	b, err := json.MarshalIndent(j.State, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(j.Dir, stateFile), append(b, '\n'), 0o600)
}

// removedPrefix names a job directory being deleted: Remove renames it
// first, so that the job is gone at once for everyone who looks (pcocc
// cancel waits for that, and returned while a removal had deleted
// state.json but not yet the directory); the rest is deleted after.
const removedPrefix = ".removed-"

// Remove deletes the job directory and releases the lock.
func (j *Job) Remove() error {
	dir := filepath.Join(filepath.Dir(j.Dir), removedPrefix+filepath.Base(j.Dir))
	if err := os.Rename(j.Dir, dir); err != nil {
		dir = j.Dir
	}
	err := os.RemoveAll(dir)
	if j.lock != nil {
		j.lock.Close()
	}
	return err
}

// sweepRemoved deletes what removals killed halfway left under base.
func sweepRemoved(base string) {
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), removedPrefix) {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

// LockFile is the open lock, for a helper process that must keep the job
// alive (the reaper inherits it).
func (j *Job) LockFile() *os.File { return j.lock }

// Load reads the job in dir; Live says whether its process still holds it.
func Load(dir string) (*Job, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, false, err
	}
	j := &Job{Dir: dir}
	if err := json.Unmarshal(b, &j.State); err != nil {
		return nil, false, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return j, held(filepath.Join(dir, lockFile)), nil
}

// WaitLock takes the lock of the job in dir once its process released it.
// It fails when the job directory is gone.
func WaitLock(dir string) (func(), error) {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	return flockFile(f)
}

// held reports whether another process holds the lock at p.
func held(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return true
	}
	return false
}

// List returns the live jobs under base, by id.
func List(base string) ([]*Job, error) {
	ents, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var jobs []*Job
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil || !e.IsDir() {
			continue
		}
		j, live, err := Load(filepath.Join(base, e.Name()))
		if err == nil && live {
			jobs = append(jobs, j)
		}
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].ID < jobs[b].ID })
	return jobs, nil
}

// Find returns the live job id.
func Find(base string, id int) (*Job, error) {
	j, live, err := Load(filepath.Join(base, strconv.Itoa(id)))
	if err != nil || !live {
		return nil, fmt.Errorf("no running cluster with job id %d (pcocc ps lists yours)", id)
	}
	return j, nil
}

// FindName returns the live job named name.
func FindName(base, name string) (*Job, error) {
	jobs, err := List(base)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Name == name {
			return j, nil
		}
	}
	return nil, fmt.Errorf("no running cluster named %q (pcocc ps lists yours)", name)
}

// VM returns the VM named name (vmN).
func (j *Job) VM(name string) (VM, error) {
	for _, v := range j.VMs {
		if v.Name == name {
			return v, nil
		}
	}
	return VM{}, fmt.Errorf("job %d has no VM %q (it has vm0 to vm%d)", j.ID, name, len(j.VMs)-1)
}

// flockFile waits for an exclusive lock of f and returns its release; f is
// closed on failure.
func flockFile(f *os.File) (func(), error) {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func lockPath(p string) (func(), error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return flockFile(f)
}
