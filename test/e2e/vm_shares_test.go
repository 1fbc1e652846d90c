package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addTemplate appends a template to the VM environment's templates.yaml.
func (v *vmEnv) addTemplate(yaml string) {
	v.t.Helper()
	conf := filepath.Join(v.home, "conf", "templates.yaml")
	b, _ := os.ReadFile(conf)
	if err := os.WriteFile(conf, append(b, yaml...), 0o644); err != nil {
		v.t.Fatal(err)
	}
}

// Mount points through virtio-fs: the guest reads a file written on the
// host and writes one back; a readonly mount refuses writes whatever the
// guest mounts it with; $HOME in the path is expanded; the daemons end
// with the cluster.
func TestVMMountPoints(t *testing.T) {
	v := newVMEnv(t)
	share, ro := filepath.Join(v.home, "share"), filepath.Join(v.home, "ro")
	for _, d := range []string{share, ro} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(share, "host-file"), []byte("HOST-FILE-42\n"), 0o644)
	v.addTemplate("tinyfs:\n  inherits: tiny\n  mount-points:\n    data: $HOME/share\n    rotag: {path: ~/ro, readonly: true}\n")
	guest := `mkdir -p /x /y; mount -t virtiofs data /x && cat /x/host-file; echo guest-$((6*7)) >/x/from-guest; ` +
		`mount -t virtiofs rotag /y && if echo w >/y/w; then echo RO-W$((6*7)); else echo RO-$((6*7)); fi; ls /y; echo DONE-$((6*7))`
	// The daemons' sockets are in the job directory, which only the user
	// can enter.
	script := waitReady + `ready vm0; d=$XDG_RUNTIME_DIR/pcocc/vm/$PCOCC_JOB_ID; stat -c %a $d; ls $d | grep -c 'fs.\.sock';
(sleep 1; echo '` + guest + `'; sleep 10) | pcocc console vm0 | tr -d '\r' | grep -a -o -e HOST-FILE-42 -e RO-42 -e RO-W42 -e DONE-42`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", script, "tinyfs")
	if code != 0 {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	if want := "700\n2\nHOST-FILE-42\nRO-42\nDONE-42\n"; out != want {
		t.Errorf("output %q, want %q\nstderr:\n%s", out, want, errs)
	}
	if b, err := os.ReadFile(filepath.Join(share, "from-guest")); err != nil || string(b) != "guest-42\n" {
		t.Errorf("the file the guest wrote: %q, %v", b, err)
	}
	if ents, _ := os.ReadDir(ro); len(ents) != 0 {
		t.Errorf("the readonly mount was written: %v", ents)
	}
	v.assertNothingLeft()
	if p := procsNaming(share); len(p) > 0 {
		t.Errorf("virtiofsd is left: %v", p)
	}
}

// A mount point or a persistent drive that is not there: one line naming
// the template and the tag or path, exit 2, nothing started.
func TestVMSharesMissing(t *testing.T) {
	v := newVMEnv(t)
	v.addTemplate("nodir:\n  inherits: tiny\n  mount-points:\n    data: $HOME/nope\n" +
		"nodrive:\n  inherits: tiny\n  persistent-drives: [$HOME/nope.raw]\n" +
		"badtag:\n  inherits: tiny\n  mount-points: {\"a/b\": /tmp}\n")
	for _, tc := range []struct{ tpl, want string }{
		{"nodir", fmt.Sprintf(`template "nodir" (%s/conf/templates.yaml:`, v.home)},
		{"nodir", fmt.Sprintf(`mount point "data": %s/nope: no such file or directory`, v.home)},
		{"nodrive", fmt.Sprintf(`template "nodrive" (%s/conf/templates.yaml:`, v.home)},
		{"nodrive", fmt.Sprintf(`persistent drive %s/nope.raw: no such file or directory`, v.home)},
		{"badtag", `mount point "a/b": the tag must be 1 to 36 letters`},
	} {
		out, errs, code := v.pcocc("alloc", "-E", "echo started", tc.tpl)
		if code != 2 || out != "" || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("alloc %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.tpl, code, out, errs, tc.want)
		}
	}
	v.assertNothingLeft()
}

// A persistent drive is the file itself: what the guest writes is in it
// after the cluster; while one cluster holds it, a second is refused with
// one line naming the first.
func TestVMPersistentDrive(t *testing.T) {
	v := newVMEnv(t)
	drive := filepath.Join(v.home, "drive.raw")
	if err := os.WriteFile(drive, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	v.addTemplate("tinyd:\n  inherits: tiny\n  persistent-drives:\n    - $HOME/drive.raw: {cache: writethrough}\n")
	guest := `echo DRIVE-$((6*7)) >/dev/vdc; sync; echo WROTE-$((6*7))`
	script := waitReady + `ready vm0; pcocc alloc -E 'echo second-started' tinyd; echo "second=$?";
(sleep 1; echo '` + guest + `'; sleep 6) | pcocc console vm0 | tr -d '\r' | grep -a -o WROTE-42`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-J", "holder", "-E", script, "tinyd")
	if code != 0 {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	if want := "second=1\nWROTE-42\n"; out != want {
		t.Errorf("output %q, want %q\nstderr:\n%s", out, want, errs)
	}
	assertContains(t, "stderr", errs, fmt.Sprintf("pcocc: persistent drive %s is in use by your job 1 (holder)\n", drive))
	b, _ := os.ReadFile(drive)
	if !strings.HasPrefix(string(b), "DRIVE-42\n") {
		t.Errorf("the drive starts with %q, want what the guest wrote", b[:16])
	}
	if len(b) != 1<<20 {
		t.Errorf("the drive is %d bytes, want 1 MiB (used in place)", len(b))
	}
	v.assertNothingLeft()
}

// mmp: cluster lets the VMs of one cluster open the drive together (QEMU's
// own image locks allow it: share-rw); without it the plan refuses.
func TestVMPersistentDriveShared(t *testing.T) {
	v := newVMEnv(t)
	os.WriteFile(filepath.Join(v.home, "shared.raw"), make([]byte, 1<<20), 0o644)
	v.addTemplate("tinys:\n  inherits: tiny\n  persistent-drives:\n    - $HOME/shared.raw: {mmp: cluster}\n" +
		"tinyx:\n  inherits: tiny\n  persistent-drives: [$HOME/shared.raw]\n")
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", waitReady+"ready vm0; ready vm1; echo both-up", "tinys:2")
	if code != 0 || out != "both-up\n" {
		t.Fatalf("alloc tinys:2: exit %d\n%s\n%s", code, out, errs)
	}
	_, errs, code = v.pcocc("alloc", "-E", "echo started", "tinyx:2")
	if code != 1 || !strings.Contains(errs, "vm0 and vm1 would both use it") {
		t.Errorf("alloc tinyx:2: exit %d, stderr %q", code, errs)
	}
	v.assertNothingLeft()
}
