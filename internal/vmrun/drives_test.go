package vmrun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// A drive held by one job is refused to another, naming the holder, until
// the holder releases it; mmp: no (ShareAny) takes no lock.
func TestLockDrives(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "jobs")
	drive := filepath.Join(dir, "d.raw")
	os.WriteFile(drive, make([]byte, 4096), 0o600)
	vms := func(share string) []vm.VM {
		return []vm.VM{{Name: "vm0", Template: vm.Template{Drives: []vm.Drive{{Path: drive, Share: share}}}}}
	}
	first, err := vmjob.Create(base, "keeper")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Remove()
	release, err := LockDrives(first, vms(vm.ShareNone))
	if err != nil {
		t.Fatal(err)
	}
	second, err := vmjob.Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Remove()
	_, err = LockDrives(second, vms(vm.ShareCluster))
	if err == nil || err.Error() != "persistent drive "+drive+" is in use by your job 1 (keeper)" {
		t.Errorf("second lock: %v", err)
	}
	if len(second.Drives) != 0 {
		t.Errorf("the refused job records drives %v", second.Drives)
	}
	if r, err := LockDrives(second, vms(vm.ShareAny)); err != nil {
		t.Errorf("mmp: no: %v", err)
	} else {
		r()
	}
	release()
	r, err := LockDrives(second, vms(vm.ShareNone))
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	r()
	if _, err := LockDrives(second, vms(vm.ShareNone)[:0]); err != nil {
		t.Errorf("no drive: %v", err)
	}
	gone := filepath.Join(dir, "gone.raw")
	if _, err := LockDrives(second, []vm.VM{{Name: "vm0", Template: vm.Template{Drives: []vm.Drive{{Path: gone}}}}}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing drive: %v", err)
	}
}
