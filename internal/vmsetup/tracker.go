package vmsetup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Tracker is a job's record on a node, root-only: every object created is
// recorded before it is created, so that Undo or a later reclaim removes it
// whatever happened in between.
type Tracker struct {
	Job    uint64
	UID    int
	NodeID int
	Slot   int
	Ports  []int
	VMs    []int // local VM indexes (their etcd keys)
	// Owner is the process that ran create (slurmstepd) and its start time
	// (/proc/PID/stat field 22): the job is alive on this node while it runs.
	OwnerPID   int
	OwnerStart uint64
	// NetNS is the network namespace the objects are in (/proc/self/ns/net):
	// a tracker of another "node" sharing /run (CI) is not this node's to undo.
	NetNS string
	Undo  [][]string // in creation order
	Files []string   // removed last (env dirs)
	path  string
}

// TrackerPath is the tracker of a job's node in dir (JOB.NODEID.json: the
// node id keeps apart the "nodes" of one machine, CI's namespaces, which
// share /run).
func TrackerPath(dir string, job uint64, node int) string {
	return filepath.Join(dir, strconv.FormatUint(job, 10)+"."+strconv.Itoa(node)+".json")
}

// Save writes the tracker atomically (0600).
func (t *Tracker) Save() error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	tmp := t.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, t.path)
}

// LoadTrackers reads every tracker of dir.
func LoadTrackers(dir string) ([]*Tracker, error) {
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var ts []*Tracker
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		t := &Tracker{path: p}
		if err := json.Unmarshal(b, t); err != nil {
			return nil, fmt.Errorf("tracker %s: %w", p, err)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// ProcStart is the start time of pid (clock ticks since boot), 0 if gone.
func ProcStart(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// NetNS is this process's network namespace, "net:[INODE]".
func NetNS() string {
	s, _ := os.Readlink("/proc/self/ns/net")
	return s
}

// Mine says whether the tracker's objects are in this network namespace.
func (t *Tracker) Mine() bool { return t.NetNS == NetNS() }

// Alive says whether the process that created the tracker still runs.
func (t *Tracker) Alive() bool {
	return t.OwnerPID > 0 && ProcStart(t.OwnerPID) == t.OwnerStart
}

// Lock takes the node lock (flock), for create, delete and cleanup.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
