package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// pcocc ssh, exec and scp, and a mount point, against the Debian guest (scripts/vm-images.sh
// debian: cloud-init and a real sshd), which learns the user and their key
// from its seed. Skipped without the guest (CI builds it only with
// PCOCC_TEST_VM_IMAGES=full); internal/vmcli tests the same commands
// against a stand-in VM in every run.
func TestVMSSHDebian(t *testing.T) {
	guest := filepath.Join(os.Getenv("PCOCC_VM_IMAGES"), "debian")
	if _, err := os.Stat(filepath.Join(guest, "disk.qcow2")); os.Getenv("PCOCC_VM_IMAGES") == "" || err != nil {
		t.Skip("no Debian VM guest in $PCOCC_VM_IMAGES/debian: scripts/vm-images.sh debian builds it")
	}
	v := newVMEnv(t)
	conf := filepath.Join(v.home, "conf", "templates.yaml")
	b, _ := os.ReadFile(conf)
	// A mount point: cloud-init mounts it on /mnt/TAG at boot.
	tpl := fmt.Sprintf("deb:\n  image: user:debdisk\n  kernel: %s/vmlinuz\n  initrd: %s/initrd.img\n  mount-points: {hostdata: $HOME/share}\n", guest, guest)
	os.MkdirAll(filepath.Join(v.home, "share"), 0o755)
	os.WriteFile(filepath.Join(v.home, "share", "f"), []byte("shared-42\n"), 0o644)
	os.WriteFile(conf, append(b, tpl...), 0o644)
	v.mustPcocc("image", "import", filepath.Join(guest, "disk.qcow2"), "debdisk")
	local := filepath.Join(v.home, "to-vm")
	os.WriteFile(local, []byte("copied-42\n"), 0o644)
	// Under emulation on a busy machine, sshd answers after minutes.
	script := fmt.Sprintf(`for i in $(seq 900); do pcocc ssh -o ConnectTimeout=20 vm0 true 2>/dev/null && break; sleep 1; done
pcocc ssh vm0 hostname; pcocc exec -i 0 'echo exec-$((6*7))'; pcocc exec 'exit 5'; echo "exec=$?"
pcocc scp %s vm0:copied && pcocc ssh vm0 cat copied && pcocc scp vm0:copied %s.back && cat %s.back
pcocc ssh vm0 cat /mnt/hostdata/f`, local, local, local)
	out, errs, code := v.pcocc("alloc", "-m", "1024", "-E", script, "deb")
	if code != 0 {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	if want := "vm0\nexec-42\nexec=5\ncopied-42\ncopied-42\nshared-42\n"; out != want {
		t.Errorf("output %q, want %q\nstderr:\n%s", out, want, errs)
	}
	v.assertNothingLeft()
}
