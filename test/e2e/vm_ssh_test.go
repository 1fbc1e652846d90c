package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// pcocc ssh, exec and scp, and a mount point, against the Debian guest (scripts/vm-images.sh
// debian: cloud-init and a real sshd), which learns the user and their key
// from its seed. Skipped without the guest (scripts/test.sh builds it once,
// then it is cached); internal/vmcli tests the same commands
// against a stand-in VM in every run.
func TestVMSSHDebian(t *testing.T) {
	guest := debianGuest(t)
	bootsInParallel(t)
	v := newVMEnv(t)
	// A mount point: cloud-init mounts it on /mnt/TAG at boot.
	addDebianTemplate(v, guest, "  mount-points: {hostdata: $HOME/share}\n")
	os.MkdirAll(filepath.Join(v.home, "share"), 0o755)
	os.WriteFile(filepath.Join(v.home, "share", "f"), []byte("shared-42\n"), 0o644)
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

// pcocc ssh -j JOB from outside the allocation, as from a login node: the
// Debian guest runs on a Slurm node, its sshd is reached through that
// node's reverse NAT (port 22, the network's vm-port), found in etcd, and
// its host key is checked against the one its seed gave it. Skipped without
// the guest, as TestVMSSHDebian, and without the plugin's VM path and etcd.
func TestVMSlurmSSHDebian(t *testing.T) {
	requireSlurmVM(t)
	guest := debianGuest(t)
	v := newSlurmEtcdEnv(t)
	addDebianTemplate(v, guest, "")
	name := fmt.Sprintf("pcocc-ssh-%d", os.Getpid())
	out := v.mustPcocc("batch", "-J", name, "-o", filepath.Join(v.home, "out-%j"), "-E", "sleep 900", "deb:1")
	m := regexp.MustCompile(`Submitted batch job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("batch: %s", out)
	}
	defer exec.Command("scancel", m[1]).Run()
	// Under emulation on a busy machine, sshd answers after minutes.
	deadline := time.Now().Add(12 * time.Minute)
	for {
		out, errs, code := v.pcocc("ssh", "-j", m[1], "-o", "ConnectTimeout=20", "vm0", "hostname")
		if code == 0 {
			if out != "vm0\n" {
				t.Errorf("ssh -j %s vm0 hostname: %q", m[1], out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh -j %s vm0 never answered: exit %d, %s", m[1], code, errs)
		}
		time.Sleep(3 * time.Second)
	}
	if out, errs, code := v.pcocc("exec", "-j", m[1], "-i", "0", "echo exec-$((6*7))"); code != 0 || out != "exec-42\n" {
		t.Errorf("exec -j %s: exit %d, %q, %s", m[1], code, out, errs)
	}
	local := filepath.Join(v.home, "to-vm")
	os.WriteFile(local, []byte("copied-42\n"), 0o644)
	if _, errs, code := v.pcocc("scp", "-j", m[1], local, "vm0:copied"); code != 0 {
		t.Errorf("scp -j %s: exit %d, %s", m[1], code, errs)
	} else if out, errs, code := v.pcocc("ssh", "-j", m[1], "vm0", "cat", "copied"); code != 0 || out != "copied-42\n" {
		t.Errorf("ssh -j %s vm0 cat copied: exit %d, %q, %s", m[1], code, out, errs)
	}
	if _, errs, code := v.pcocc("cancel", "-j", m[1]); code != 0 {
		t.Errorf("cancel -j %s: exit %d, %s", m[1], code, errs)
	}
}

// debianGuest is the Debian guest's directory; the test skips without it.
func debianGuest(t *testing.T) string {
	t.Helper()
	guest := filepath.Join(os.Getenv("PCOCC_VM_IMAGES"), "debian")
	if _, err := os.Stat(filepath.Join(guest, "disk.qcow2")); os.Getenv("PCOCC_VM_IMAGES") == "" || err != nil {
		t.Skip("no Debian VM guest in $PCOCC_VM_IMAGES/debian: scripts/vm-images.sh debian builds it")
	}
	return guest
}

// addDebianTemplate imports the guest's disk as debdisk and adds the
// template deb (its kernel and initrd, then the extra lines).
func addDebianTemplate(v *vmEnv, guest, extra string) {
	conf := filepath.Join(v.home, "conf", "templates.yaml")
	b, _ := os.ReadFile(conf)
	tpl := fmt.Sprintf("deb:\n  image: user:debdisk\n  kernel: %s/vmlinuz\n  initrd: %s/initrd.img\n%s", guest, guest, extra)
	os.WriteFile(conf, append(b, tpl...), 0o644)
	v.mustPcocc("image", "import", filepath.Join(guest, "disk.qcow2"), "debdisk")
}
