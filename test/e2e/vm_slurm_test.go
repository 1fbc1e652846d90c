package e2e

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// VM clusters under Slurm (batch.yaml type: slurm). The tests that start
// VMs need the Slurm plugin's VM path (srun --vm, from the plugin's
// privileged side); without it they skip and say so. They keep to at most
// 2 TCG VMs at once.

// newSlurmVMEnv is newVMEnv with batch.yaml saying slurm.
func newSlurmVMEnv(t *testing.T) *vmEnv {
	t.Helper()
	v := newVMEnv(t)
	sys := filepath.Join(filepath.Dir(v.home), "etc-pcocc")
	if err := os.WriteFile(filepath.Join(sys, "batch.yaml"), []byte("type: slurm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return v
}

// srunHasVM: the plugin's VM path is installed (srun knows --vm).
func srunHasVM() bool {
	out, err := exec.Command("srun", "--help").Output()
	return err == nil && strings.Contains(string(out), "--vm=")
}

func requireSlurmVM(t *testing.T) {
	t.Helper()
	if !conditions["slurm"]() {
		t.Skip("no Slurm (srun -N1 true fails or SLURM_CONF unset)")
	}
	if !srunHasVM() {
		t.Skip("the Slurm plugin's VM path is not installed (srun has no --vm option)")
	}
}

// The seed's line, `pcocc alloc -p <partition> -c <cores per VM>
// img1:N,img2:M`, as written: --dry-run shows what Slurm gets.
func TestVMSlurmSeedLineDryRun(t *testing.T) {
	v := newSlurmVMEnv(t)
	out := v.mustPcocc("alloc", "--dry-run", "-p", "debug", "-c", "2", "tiny:1,tiny:2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the salloc and srun lines, got:\n%s", out)
	}
	salloc := regexp.MustCompile(`^salloc -n 3 -c 2 -p debug -J pcocc --distribution=block:block -- \S+/pcocc-vm __slurm-launch --network cluster --ports 8080 -c 2 tiny:1,tiny:2$`)
	srun := regexp.MustCompile(`^srun -K -X -Q --vm=cluster:8080 -n 3 \S+/pcocc-vm __vm-hypervisor -c 2 tiny:1,tiny:2$`)
	if !salloc.MatchString(lines[0]) || !srun.MatchString(lines[1]) {
		t.Errorf("dry run:\n%s", out)
	}
	// Slurm's options go to salloc, after pcocc's, in order; -n is pcocc's.
	out = v.mustPcocc("alloc", "--dry-run", "-t", "10", "-c", "2", "--ntasks-per-node=1", "--qos", "q", "tiny:2")
	if !regexp.MustCompile(`^salloc -n 2 -c 2 -J pcocc --distribution=block:block -t 10 --ntasks-per-node=1 --qos q -- `).MatchString(out) {
		t.Errorf("dry run with Slurm options:\n%s", out)
	}
	_, errs, code := v.pcocc("alloc", "--dry-run", "-N", "2", "-n", "4", "tiny:2")
	if code != 2 || errs != "pcocc: -n: pcocc runs one task per VM, counted from the cluster definition\n" {
		t.Errorf("alloc -n 4: exit %d, stderr %q", code, errs)
	}
	out = v.mustPcocc("batch", "--dry-run", "-A", "acct", "-J", "named", "-m", "1G", "-E", "echo hi", "tiny:1")
	if !strings.Contains(out, "sbatch -n 1 -c 1 --mem-per-cpu=1024 -J named -A acct --distribution=block:block -o pcocc-%j.out '--wrap=exec ") {
		t.Errorf("batch dry run:\n%s", out)
	}
}

// A bad definition or template is one line, and nothing reaches Slurm.
func TestVMSlurmBadDefNothingSubmitted(t *testing.T) {
	if !conditions["slurm"]() {
		t.Skip("no Slurm (srun -N1 true fails or SLURM_CONF unset)")
	}
	v := newSlurmVMEnv(t)
	for _, def := range []string{"nosuch:2", "tiny:0", "tiny:1,"} {
		_, errs, code := v.pcocc("alloc", "-E", "true", "-J", "pcocc-bad", def)
		if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || strings.Contains(errs, "salloc") {
			t.Errorf("alloc %s: exit %d, stderr %q", def, code, errs)
		}
	}
	if out, _ := exec.Command("squeue", "-h", "-n", "pcocc-bad", "-o", "%i").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("jobs submitted: %s", out)
	}
}

// Without the plugin's VM path: one line, status 125, no job.
func TestVMSlurmNoVMPath(t *testing.T) {
	if !conditions["slurm"]() {
		t.Skip("no Slurm (srun -N1 true fails or SLURM_CONF unset)")
	}
	if srunHasVM() {
		t.Skip("the Slurm plugin's VM path is installed")
	}
	v := newSlurmVMEnv(t)
	_, errs, code := v.pcocc("alloc", "-E", "true", "-J", "pcocc-novm", "tiny:1")
	if code != 125 || !strings.Contains(errs, "the Slurm plugin's VM network is not installed") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if out, _ := exec.Command("squeue", "-h", "-n", "pcocc-novm", "-o", "%i").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("jobs submitted: %s", out)
	}
	if b, err := os.ReadFile(filepath.Join(v.home, ".pcocc", "etcd-password")); err == nil {
		t.Errorf("credential made before the check: %q", b)
	}
}

// alloc -E and batch -E of 2 tiny VMs: both boot, the script sees the job.
// The alloc is the seed's line as written, `pcocc alloc -p <partition> -c
// <cores per VM> myimage1:<N>,myimage2:<M>`, with -E: the CI's partition,
// two templates of the tiny guest.
func TestVMSlurmAllocBatch(t *testing.T) {
	requireSlurmVM(t)
	v := newSlurmVMEnv(t)
	addTemplate(t, v, "tiny2", "tiny")
	out, errs, code := v.pcocc("alloc", "-p", "debug", "-c", "1", "-E", `echo "JOB=$PCOCC_JOB_ID"`, "tiny:1,tiny2:1")
	if code != 0 || !strings.Contains(errs, "Configuring hosts... (done)") || !regexp.MustCompile(`JOB=\d+`).MatchString(out) {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	outFile := filepath.Join(v.home, "batch-%j.out")
	out = v.mustPcocc("batch", "-o", outFile, "-E", `echo "JOB=$PCOCC_JOB_ID"`, "tiny:2")
	m := regexp.MustCompile(`Submitted batch job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("batch: %s", out)
	}
	final := strings.ReplaceAll(outFile, "%j", m[1])
	deadline := time.Now().Add(5 * time.Minute)
	for {
		q, _ := exec.Command("squeue", "-h", "-j", m[1], "-o", "%i").Output()
		if strings.TrimSpace(string(q)) == "" {
			break
		}
		if time.Now().After(deadline) {
			exec.Command("scancel", m[1]).Run()
			t.Fatalf("batch job %s still running after 5 min", m[1])
		}
		time.Sleep(2 * time.Second)
	}
	b, _ := os.ReadFile(final)
	if !strings.Contains(string(b), "Configuring hosts... (done)") || !strings.Contains(string(b), "JOB="+m[1]) {
		t.Errorf("batch output:\n%s", b)
	}
}

// A killed QEMU ends the cluster: one line naming the VM, the script ended.
func TestVMSlurmHypervisorKilled(t *testing.T) {
	requireSlurmVM(t)
	v := newSlurmVMEnv(t)
	// vm[1]: the pattern does not match this script's own command line.
	script := `pkill -KILL -u "$(id -u)" -f "pcocc-$PCOCC_JOB_ID-vm[1]-"; sleep 120; echo NOT-ENDED`
	out, errs, code := v.pcocc("alloc", "-E", script, "tiny:2")
	if code == 0 || strings.Contains(out, "NOT-ENDED") || !strings.Contains(errs, "vm1: on ") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
}

// addTemplate adds template name to v's templates.yaml, inheriting from.
func addTemplate(t *testing.T, v *vmEnv, name, from string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(v.home, "conf", "templates.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "%s:\n  inherits: %s\n", name, from)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A cluster of 2 VMs on the 2 nodes (--ntasks-per-node=1, passed to
// sbatch), driven from outside the allocation (-j, -J): pcocc ps lists it
// on both nodes; vm0 pings vm1 by name over the cluster's VXLAN (typed at
// its console); `pcocc nc -j JOB vm1 8080` reaches the tiny guest's port
// (its template's ports: [8080], forwarded besides the network's vm-port 22)
// through its node's reverse NAT, found in etcd, and a port neither names
// is refused in one line; pcocc cancel -J ends the
// job and returns once Slurm no longer lists it. Needs the plugin's VM
// path and etcd ($PCOCC_TEST_ETCD, the first endpoint).
func TestVMSlurmFromLoginNode(t *testing.T) {
	requireSlurmVM(t)
	v := newSlurmEtcdEnv(t)
	name := fmt.Sprintf("pcocc-login-%d", os.Getpid())
	out := v.mustPcocc("batch", "-J", name, "--ntasks-per-node=1", "-o", filepath.Join(v.home, "out-%j"), "-E", "sleep 300", "tiny:2")
	m := regexp.MustCompile(`Submitted batch job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("batch: %s", out)
	}
	defer exec.Command("scancel", m[1]).Run()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ps, _, _ := v.pcocc("ps")
		// NODES: two of them (n[1-2] in the CI)
		if regexp.MustCompile(`(?m)^` + m[1] + `\s+\S+\s+2\s+RUNNING\s+\S+\s+\S*\[\d+-\d+\]\s*$`).MatchString(ps) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(v.home, "out-"+m[1]))
			t.Fatalf("job %s never listed with 2 VMs running:\n%s\nits output:\n%s", m[1], ps, b)
		}
		time.Sleep(2 * time.Second)
	}
	for {
		cmd := v.command("nc", "-j", m[1], "vm1", "8080")
		cmd.Stdin = strings.NewReader("")
		b, _ := cmd.Output()
		if strings.Contains(string(b), "pcocc-tiny vm1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pcocc nc -j %s vm1 8080: %q", m[1], b)
		}
		time.Sleep(2 * time.Second)
	}
	if _, errs, code := v.pcocc("nc", "-j", m[1], "vm0", "7"); code == 0 || !strings.Contains(errs, "vm0: port 7 is not forwarded (forwarded: 22 8080)") {
		t.Errorf("nc -j %s vm0 7: exit %d, %q", m[1], code, errs)
	}
	// vm1 answers on 8080: both guests are up. vm0 pings vm1 by name.
	cmd := v.command("console", "-j", m[1], "vm0")
	cmd.Stdin = typed("ping -c 1 -W 5 vm1 >/dev/null && echo PING-$((6*7))", 8*time.Second)
	b, _ := cmd.Output()
	if !strings.Contains(string(b), "PING-42") {
		t.Errorf("vm0 did not ping vm1 (on the other node) by name; console:\n%s", b)
	}
	// reset from outside: vm1 reboots (its node runs the reset) and answers again
	if out, errs, code := v.pcocc("reset", "-j", m[1], "vm1"); code != 0 {
		t.Errorf("reset -j %s vm1: exit %d\n%s%s", m[1], code, out, errs)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		b, _ := v.command("console", "-l", "-j", m[1], "vm1").Output()
		if strings.Count(string(b), "PCOCC-TINY-GUEST-READY") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vm1's console shows no second boot after reset -j:\n%s", b)
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(2 * time.Second) {
		cmd := v.command("nc", "-j", m[1], "vm1", "8080")
		cmd.Stdin = strings.NewReader("")
		if b, _ := cmd.Output(); strings.Contains(string(b), "pcocc-tiny vm1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("vm1 does not answer on 8080 after reset -j")
		}
	}
	start := time.Now()
	if out, errs, code := v.pcocc("cancel", "-J", name); code != 0 {
		t.Fatalf("cancel -J %s: exit %d\n%s%s", name, code, out, errs)
	}
	if q, _ := exec.Command("squeue", "-h", "-j", m[1], "-o", "%i").Output(); strings.TrimSpace(string(q)) != "" {
		t.Errorf("job %s still in squeue after cancel (%v): %s", m[1], time.Since(start), q)
	}
	if _, errs, code := v.pcocc("cancel", "-j", m[1]); code == 0 || !strings.Contains(errs, "no job of yours in Slurm") {
		t.Errorf("cancel of an ended job: exit %d, %q", code, errs)
	}
}

// typed is a console's input: after a second, line, then nothing for
// wait, so that the output of what line ran comes back before the end.
func typed(line string, wait time.Duration) io.Reader {
	r, w := io.Pipe()
	go func() {
		time.Sleep(time.Second)
		io.WriteString(w, line+"\n")
		time.Sleep(wait)
		w.Close()
	}()
	return r
}

// newSlurmEtcdEnv is newSlurmVMEnv with batch.yaml naming the CI's etcd
// (the first endpoint of $PCOCC_TEST_ETCD), where the commands that reach a
// VM (console, nc, save, ...) find which node it runs on.
func newSlurmEtcdEnv(t *testing.T) *vmEnv {
	t.Helper()
	ep := strings.Split(os.Getenv("PCOCC_TEST_ETCD"), ",")[0]
	u, err := url.Parse(ep)
	if ep == "" || err != nil || u.Port() == "" {
		t.Skip("no etcd: PCOCC_TEST_ETCD (env.sh) names none")
	}
	v := newSlurmVMEnv(t)
	batch := fmt.Sprintf("type: slurm\nsettings:\n  etcd-servers: [%s]\n  etcd-client-port: %s\n  etcd-protocol: %s\n", u.Hostname(), u.Port(), u.Scheme)
	if err := os.WriteFile(filepath.Join(filepath.Dir(v.home), "etc-pcocc", "batch.yaml"), []byte(batch), 0o644); err != nil {
		t.Fatal(err)
	}
	return v
}

// pcocc save from the allocation of a Slurm cluster runs on the VM's node
// (srun --overlap, the hypervisor's record of its image): what the VM wrote
// becomes a new revision of its image, which a new cluster boots.
func TestVMSlurmSave(t *testing.T) {
	requireSlurmVM(t)
	v := newSlurmEtcdEnv(t)
	script := waitReady + `ready vm0;
(sleep 1; echo 'echo saved-$((6*7)) >/mnt/pcocc-disk; sync; echo WROTE-$((1+1))'; sleep 6) | pcocc console vm0 | grep -a -o WROTE-2;
pcocc save vm0`
	out, errs, code := v.pcocc("alloc", "-E", script, "tiny")
	if code != 0 || !strings.Contains(out, "WROTE-2") || !strings.Contains(out, "vm0 saved as tinydisk@1") {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	out, errs, code = v.pcocc("alloc", "-E", waitReady+"ready vm0; pcocc console -l vm0 | grep -a GUEST-DISK", "tiny")
	if code != 0 || !strings.Contains(out, "saved-42") {
		t.Errorf("a new cluster of tinydisk (now @1): exit %d\n%s\n%s", code, out, errs)
	}
}
