package vmjob

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCreateListRemove(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	j1, err := Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	j2, err := Create(base, "named")
	if err != nil {
		t.Fatal(err)
	}
	if j1.ID != 1 || j2.ID != 2 {
		t.Errorf("ids %d %d, want 1 2", j1.ID, j2.ID)
	}
	if st, _ := os.Stat(j1.Dir); st.Mode().Perm() != 0o700 {
		t.Errorf("job dir mode %v", st.Mode())
	}
	if _, err := Create(base, "named"); err == nil || !strings.Contains(err.Error(), `already named "named" (job 2)`) {
		t.Errorf("a second job of the same name: %v", err)
	}
	j1.VMs = []VM{{Name: "vm0", Pid: 42, SSHPort: 2222}}
	if err := j1.Save(); err != nil {
		t.Fatal(err)
	}
	jobs, err := List(base)
	if err != nil || len(jobs) != 2 || jobs[0].VMs[0].SSHPort != 2222 {
		t.Fatalf("List: %v %+v", err, jobs)
	}
	if j, err := FindName(base, "named"); err != nil || j.ID != 2 {
		t.Errorf("FindName: %v %v", j, err)
	}
	if _, err := jobs[0].VM("vm1"); err == nil || !strings.Contains(err.Error(), `job 1 has no VM "vm1" (it has vm0 to vm0)`) {
		t.Errorf("VM(vm1): %v", err)
	}
	j2.Remove()
	if _, err := Find(base, 2); err == nil {
		t.Error("a removed job is found")
	}
	// An id is never reused while the counter lives.
	j3, err := Create(base, "")
	if err != nil || j3.ID != 3 {
		t.Errorf("third job: %v %v", j3, err)
	}
}

// A job whose process died (lock released) is not listed.
func TestDeadJobNotListed(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	j, err := Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	j.lock.Close()
	if jobs, _ := List(base); len(jobs) != 0 {
		t.Errorf("dead job listed: %+v", jobs)
	}
}

// The lock is seen from another process (flock is per open file).
func TestLockSeenByAnotherProcess(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	j, err := Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Remove()
	err = exec.Command("flock", "-n", "-s", filepath.Join(j.Dir, lockFile), "true").Run()
	if err == nil {
		t.Error("another process took the job's lock")
	}
}

func TestBaseRefusedWhenOpen(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	if err := os.Mkdir(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(base, ""); err == nil || !strings.Contains(err.Error(), "is not a private directory of yours") {
		t.Errorf("Create in a 0755 base: %v", err)
	}
}

func TestBaseDir(t *testing.T) {
	d := t.TempDir()
	env := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return d
		}
		return ""
	}
	if got := BaseDir(env); got != filepath.Join(d, "pcocc", "vm") {
		t.Errorf("BaseDir = %s", got)
	}
	if got := BaseDir(func(string) string { return "" }); !strings.HasPrefix(filepath.Base(got), "pcocc-vm-") {
		t.Errorf("BaseDir without XDG_RUNTIME_DIR = %s", got)
	}
}

// Remove takes the job's directory away at once (a rename), then deletes
// it; what a removal killed halfway left is swept by the next Create.
func TestRemoveAtOnce(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	j, err := Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(j.Dir, "vm0", "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(base); len(ents) != 2 { // ids.lock, next-id
		t.Errorf("after Remove: %v", ents)
	}
	left := filepath.Join(base, removedPrefix+"7")
	if err := os.MkdirAll(filepath.Join(left, "vm0"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(base, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("a removal's leftover is not swept: %v", err)
	}
}

// Whoever polls a job while it is removed (pcocc cancel) never sees it
// ended while its directory is still there: the directory goes first.
func TestRemoveSeenEndedOnlyOnceGone(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	j, err := Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20000 { // a removal that takes long enough to be watched
		if err := os.WriteFile(filepath.Join(j.Dir, strconv.Itoa(i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan bool)
	go func() {
		early := false
		for {
			_, live, err := Load(j.Dir)
			if err != nil || !live {
				_, serr := os.Stat(j.Dir)
				early = early || serr == nil
				if serr != nil {
					done <- early
					return
				}
			}
		}
	}()
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if <-done {
		t.Error("the job was seen ended while its directory was still there")
	}
}
