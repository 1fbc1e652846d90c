package vmsetup

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// NewTracker starts a job's tracker in dir (0700, created) owned by the
// process ppid.
func NewTracker(dir string, job uint64, uid, nodeID, ppid int) (*Tracker, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	t := &Tracker{Job: job, UID: uid, NodeID: nodeID, OwnerPID: ppid, OwnerStart: ProcStart(ppid), NetNS: NetNS(), path: TrackerPath(dir, job, nodeID)}
	return t, t.Save()
}

// Execute runs the plan's actions in order, recording each undo in t
// before its action runs. On error the caller runs t.UndoAll.
func Execute(p Plan, t *Tracker) error {
	t.Files = append(t.Files, p.Files...)
	for _, a := range p.Actions {
		if a.Undo != nil {
			t.Undo = append(t.Undo, a.Undo)
			if err := t.Save(); err != nil {
				return err
			}
		}
		if err := run(a.Do, a.Stdin); err != nil {
			return err
		}
	}
	return nil
}

// UndoAll removes what the tracker records, newest first; an object
// already gone is not an error. The tracker goes last.
func (t *Tracker) UndoAll() error {
	var errs []string
	for i := len(t.Undo) - 1; i >= 0; i-- {
		if err := run(t.Undo[i], ""); err != nil && !gone(err) {
			errs = append(errs, err.Error())
		}
	}
	for _, f := range t.Files {
		if err := os.RemoveAll(f); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return os.Remove(t.path)
}

// gone: the undo found nothing to remove. "No such device": the object
// went between ip's lookup and its delete (a veth goes with its peer's
// namespace, which the kernel destroys in the background).
func gone(err error) bool {
	s := err.Error()
	for _, m := range []string{"Cannot find device", "No such device", "No such file", "does not exist", "No such process",
		"not found"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return strings.HasPrefix(s, "pkill ") // no process matched the pid file
}

func run(argv []string, stdin string) error {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		msg := strings.Join(strings.Fields(out.String()), " ")
		return fmt.Errorf("%s: %v: %s", strings.Join(argv[:min(len(argv), 6)], " "), err, msg)
	}
	return nil
}

// FreeSlot is the lowest link-local slot no tracker uses.
func FreeSlot(ts []*Tracker) (int, error) {
	used := map[int]bool{}
	for _, t := range ts {
		used[t.Slot] = true
	}
	for s := SlotMin; s <= SlotMax; s++ {
		if !used[s] {
			return s, nil
		}
	}
	return 0, fmt.Errorf("no free link-local slot")
}

// FreePorts takes n host ports of [lo, hi] that no tracker uses and that
// nothing listens on.
func FreePorts(ts []*Tracker, n, lo, hi int) ([]int, error) {
	used := map[int]bool{}
	for _, t := range ts {
		for _, p := range t.Ports {
			used[p] = true
		}
	}
	var out []int
	for p := lo; p <= hi && len(out) < n; p++ {
		if used[p] {
			continue
		}
		l, err := net.Listen("tcp", ":"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("reverse NAT: %d free host ports wanted in %d-%d, %d found", n, lo, hi, len(out))
	}
	return out, nil
}
