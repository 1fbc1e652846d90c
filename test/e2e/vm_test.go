package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// vmEnv is a user environment with a VM template "tiny" (the guest of
// scripts/vm-images.sh in $PCOCC_VM_IMAGES/tiny: vmlinuz, initrd.gz, and
// disk.qcow2 imported as the VM image tinydisk; its console prints PCOCC-TINY-GUEST-READY and its port 8080
// answers "pcocc-tiny HOSTNAME"), TCG forced and a private job directory
// ($XDG_RUNTIME_DIR).
type vmEnv struct {
	*userEnv
	runtime string
}

func newVMEnv(t *testing.T) *vmEnv {
	t.Helper()
	requireHarness(t)
	guest := filepath.Join(os.Getenv("PCOCC_VM_IMAGES"), "tiny")
	if _, err := os.Stat(filepath.Join(guest, "vmlinuz")); os.Getenv("PCOCC_VM_IMAGES") == "" || err != nil {
		t.Skip("no tiny VM guest in $PCOCC_VM_IMAGES/tiny: scripts/vm-images.sh builds it")
	}
	u := newUserEnv(t)
	conf := filepath.Join(u.home, "conf")
	os.MkdirAll(conf, 0o755)
	tpl := fmt.Sprintf("tiny:\n  image: user:tinydisk\n  kernel: %s/vmlinuz\n  initrd: %s/initrd.gz\n  append: console=ttyS0 quiet panic=-1\n  ports: [8080]\n",
		guest, guest)
	if err := os.WriteFile(filepath.Join(conf, "templates.yaml"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, err := os.MkdirTemp("", "vmrt")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(rt, 0o700)
	t.Cleanup(func() { os.RemoveAll(rt) })
	u.env = append(u.env, "PCOCC_CONFIG_PATH="+conf, "XDG_RUNTIME_DIR="+rt, "PCOCC_VM_ACCEL=tcg")
	u.mustPcocc("image", "import", filepath.Join(guest, "disk.qcow2"), "tinydisk")
	return &vmEnv{userEnv: u, runtime: rt}
}

// jobsDir is where this environment's jobs live.
func (v *vmEnv) jobsDir() string { return filepath.Join(v.runtime, "pcocc", "vm") }

// assertNothingLeft: no job directory, and no process of this user that
// names the job directory (qemu) is left.
func (v *vmEnv) assertNothingLeft() {
	v.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		jobs := jobDirs(v.jobsDir())
		procs := procsNaming(v.runtime)
		if len(jobs) == 0 && len(procs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("left behind: job directories %v, processes %v", jobs, procs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func jobDirs(base string) []string {
	var out []string
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, e.Name())
		}
	}
	return out
}

// procsNaming lists processes whose command line holds s.
func procsNaming(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// waitReady is a shell function for -E scripts: it waits until VM $1's
// console says the guest is up.
const waitReady = `ready() { for i in $(seq 120); do pcocc console -l $1 | grep -q PCOCC-TINY-GUEST-READY && return 0; sleep 1; done; echo "$1 did not boot"; pcocc console -l $1; exit 9; }; `

// Two VMs boot; ps, console -l, nc and reset work from the allocation's
// shell; the script's status passes through; nothing is left.
func TestVMAlloc(t *testing.T) {
	v := newVMEnv(t)
	script := waitReady + `ready vm0; ready vm1; pcocc ps; pcocc console -l vm1 | grep -a PCOCC-TINY-GUEST-BOOTED;
sleep 2; pcocc nc vm0 8080 </dev/null; pcocc nc vm0 9 </dev/null; echo "nc9=$?"; pcocc reset vm1 && echo reset-ok; pcocc reset vm2; echo "vm2=$?"; exit 3`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-J", "two", "-E", script, "tiny:2")
	if code != 3 {
		t.Fatalf("alloc: exit %d, want the script's 3\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	assertContains(t, "output", out, "JOBID", "two", "PCOCC-TINY-GUEST-BOOTED hostname=vm1", "pcocc-tiny", "reset-ok", "vm2=1", "nc9=1")
	assertContains(t, "stderr", errs, "Configuring hosts... (done)", `has no VM "vm2" (it has vm0 to vm1)`, "vm0: port 9 is not forwarded (forwarded: 22 8080)")
	// The user's key pair, made on first use for the VMs' cloud-init seeds.
	if _, err := os.Stat(filepath.Join(v.home, ".local/share/pcocc/ssh/id_ed25519")); err != nil {
		t.Errorf("no user key pair: %v", err)
	}
	v.assertNothingLeft()
}

// A QEMU that dies mid-run ends the cluster, reported with the last lines
// of its console, exit status 1.
func TestVMQemuCrash(t *testing.T) {
	v := newVMEnv(t)
	script := waitReady + `ready vm0; kill -9 $(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$XDG_RUNTIME_DIR/pcocc/vm/$PCOCC_JOB_ID/state.json" | sed -n 2p); sleep 60; echo not-reached`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", script, "tiny")
	if code != 1 || strings.Contains(out, "not-reached") {
		t.Fatalf("alloc: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	assertContains(t, "stderr", errs, "vm0: QEMU ended (signal: killed)", "last lines of its console:", "PCOCC-TINY-GUEST-READY")
	v.assertNothingLeft()
}

// kill -9 of pcocc alloc leaves nothing: QEMU, virtiofsd, the script, the
// job directory (sockets, overlays).
func TestVMAllocKilled(t *testing.T) {
	v := newVMEnv(t)
	v.addTemplate("tinyfs:\n  inherits: tiny\n  mount-points: {home: $HOME}\n")
	cmd := v.command("alloc", "-m", "256", "-E", "sleep 300; echo x", "tiny:1,tinyfs:1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if jobs := jobDirs(v.jobsDir()); len(jobs) == 1 {
			var st struct {
				VMs   []struct{ Pid int }
				Shell int
			}
			b, _ := os.ReadFile(filepath.Join(v.jobsDir(), jobs[0], "state.json"))
			if json.Unmarshal(b, &st) == nil && len(st.VMs) == 2 && st.Shell != 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the cluster did not start in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	v.assertNothingLeft()
	if p := procsNaming("sleep 300; echo x"); len(p) > 0 {
		t.Errorf("the script is left: %v", p)
	}
	if p := procsNaming("source=" + v.home); len(p) > 0 {
		t.Errorf("virtiofsd is left: %v", p)
	}
}

// Bad input: one line, the documented status, nothing started or left.
func TestVMAllocBadInput(t *testing.T) {
	v := newVMEnv(t)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"alloc", "nope:1"}, 1, `no VM template or image named "nope"`},
		{[]string{"alloc", "tiny:0"}, 2, `"tiny:0": the count must be a positive number`},
		{[]string{"alloc", "-m", "4096G", "-c", "1", "tiny:2"}, 1, "MiB of memory and this node has"},
		{[]string{"alloc", "-c", "4096", "tiny"}, 1, "cores and this node has"},
		{[]string{"alloc", "-m", "lots", "tiny"}, 2, "-m lots: expected a positive size"},
		{[]string{"alloc"}, 2, "expected one cluster definition"},
		{[]string{"console", "vm0"}, 1, "you have no running cluster of VMs"},
		{[]string{"ps", "extra"}, 2, "expected no argument"},
		{[]string{"batch", "tiny"}, 2, "batch needs a script: -E SCRIPT"},
		// Slurm's options are Slurm's only (batch.yaml type: slurm).
		{[]string{"alloc", "-t", "10", "tiny"}, 2, "unknown flag: -t (Slurm's options need batch.yaml type: slurm"},
		{[]string{"batch", "-E", "true", "--qos=x", "tiny"}, 2, "unknown flag: --qos=x"},
	} {
		out, errs, code := v.pcocc(tc.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != tc.code || len(lines) != 1 || !strings.Contains(errs, tc.want) || out != "" {
			t.Errorf("pcocc %v: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	v.env = append(v.env, "PCOCC_VM_ACCEL=kvm2")
	out, errs, code := v.pcocc("alloc", "tiny")
	if code != 2 || out != "" || strings.TrimSpace(errs) != `pcocc: PCOCC_VM_ACCEL="kvm2": expected kvm, tcg or auto` {
		t.Errorf("bad PCOCC_VM_ACCEL: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	v.assertNothingLeft()
}

// batch returns at once with the job id; the script's output lands in the
// file; the cluster ends with the script.
func TestVMBatch(t *testing.T) {
	v := newVMEnv(t)
	dir := t.TempDir()
	outFile := filepath.Join(dir, "job-%j.out")
	start := time.Now()
	out := v.mustPcocc("batch", "-m", "256", "-o", outFile, "-E", "echo batch-ran-$PCOCC_JOB_ID; pcocc ps", "tiny")
	if time.Since(start) > 30*time.Second {
		t.Errorf("batch took %v to return", time.Since(start))
	}
	var id int
	if _, err := fmt.Sscanf(out, "Submitted batch job %d", &id); err != nil {
		t.Fatalf("batch printed %q", out)
	}
	file := filepath.Join(dir, fmt.Sprintf("job-%d.out", id))
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, _ := os.ReadFile(file)
		if strings.Contains(string(b), fmt.Sprintf("batch-ran-%d", id)) && len(jobDirs(v.jobsDir())) == 0 {
			if !strings.Contains(string(b), "JOBID") {
				t.Errorf("output file lacks pcocc ps:\n%s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the batch job did not finish in 90 s; %s:\n%s", file, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	v.assertNothingLeft()
}

// The job directory and its sockets are the user's alone.
func TestVMJobDirPrivate(t *testing.T) {
	v := newVMEnv(t)
	script := `d=$XDG_RUNTIME_DIR/pcocc/vm; stat -c '%a %n' $d $d/$PCOCC_JOB_ID`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", script, "tiny")
	if code != 0 {
		t.Fatalf("alloc: exit %d: %s", code, errs)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "700 ") {
			t.Errorf("not private: %s", l)
		}
	}
	v.assertNothingLeft()
}

// Without -E, alloc opens the user's shell with the prompt (pcocc/JOBID);
// its exit ends the cluster with its status.
func TestVMAllocShell(t *testing.T) {
	v := newVMEnv(t)
	v.env = append(v.env, "SHELL=/bin/bash")
	cmd := v.command("alloc", "-m", "256", "tiny")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var seen strings.Builder
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		sent := false
		for {
			n, err := tty.Read(buf)
			seen.Write(buf[:n])
			if !sent && strings.Contains(seen.String(), "(pcocc/1) ") {
				sent = true
				tty.Write([]byte("echo in-job-$PCOCC_JOB_ID; exit 4\n"))
			}
			if err != nil {
				got <- seen.String()
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		out := <-got
		if cmd.ProcessState.ExitCode() != 4 || !strings.Contains(out, "in-job-1") {
			t.Errorf("alloc: %v, exit %d; terminal:\n%s", err, cmd.ProcessState.ExitCode(), out)
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no prompt in 90 s; terminal:\n%s", seen.String())
	}
	v.assertNothingLeft()
}

// Two clusters of one user side by side: their own ids, names, sockets;
// -J and -j target each; the end of one leaves the other running (its ps
// loses the other within 20 s: the teardown may still run when the other's
// script ends).
func TestVMTwoClusters(t *testing.T) {
	v := newVMEnv(t)
	flag := filepath.Join(t.TempDir(), "go")
	a := v.command("alloc", "-m", "256", "-J", "first", "-E", "while [ ! -e "+flag+" ]; do sleep 0.2; done; "+
		"for i in $(seq 100); do pcocc ps | grep -q second || break; sleep 0.2; done; pcocc ps", "tiny")
	var aOut strings.Builder
	a.Stdout = &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Process.Kill()
	script := `for i in $(seq 100); do pcocc ps | grep -q first && break; sleep 0.2; done
pcocc ps; pcocc reset -J first vm0 && echo reset-first; pcocc reset -J second vm0 && echo reset-second;
pcocc reset vm0 && echo reset-own; pcocc console -l -j 999 vm0; echo "j999=$?"; touch ` + flag
	out, errs, code := v.pcocc("alloc", "-m", "256", "-J", "second", "-E", script, "tiny")
	if code != 0 {
		t.Fatalf("second alloc: exit %d\n%s\n%s", code, out, errs)
	}
	assertContains(t, "output", out, "first", "second", "reset-first", "reset-second", "reset-own", "j999=1")
	if !strings.Contains(errs, "no running cluster with job id 999") {
		t.Errorf("stderr: %s", errs)
	}
	if err := a.Wait(); err != nil {
		t.Errorf("first alloc: %v", err)
	}
	if !strings.Contains(aOut.String(), "first") || strings.Contains(aOut.String(), "second") {
		t.Errorf("first cluster's ps after the second ended:\n%s", aOut.String())
	}
	v.assertNothingLeft()
}

// The cluster network: each VM gets its lease (address, hostname vmN);
// vm0 pings vm1 by name; a template port is reachable from the host; vm1
// reaches a service on the host's loopback through the NAT (10.0.2.2).
func TestVMNetwork(t *testing.T) {
	v := newVMEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "HOST-SVC-"+strconv.Itoa(6*7))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	script := waitReady + fmt.Sprintf(`ready vm0; ready vm1; pcocc console -l vm1 | grep -a PCOCC-TINY-GUEST-NET;
(sleep 1; echo 'ping -c 1 -W 5 vm1 >/dev/null && echo PING-$((6*7))'; sleep 8) | pcocc console vm0 | grep -a -o PING-42;
(sleep 1; echo 'nc 10.0.2.2 %d </dev/null'; sleep 8) | pcocc console vm1 | grep -a -o HOST-SVC-42;
pcocc nc vm1 8080 </dev/null`, port)
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", script, "tiny:2")
	if code != 0 {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	assertContains(t, "output", out, "ip=10.200.0.11/24 hostname=vm1", "PING-42", "HOST-SVC-42", "pcocc-tiny vm1")
	v.assertNothingLeft()
}

// save: what a VM wrote to its disk becomes a new revision of its image;
// a new cluster boots it; the revision it booted from is unchanged.
func TestVMSave(t *testing.T) {
	v := newVMEnv(t)
	conf := filepath.Join(v.home, "conf", "templates.yaml")
	b, _ := os.ReadFile(conf)
	old := strings.ReplaceAll(string(b), "tiny:", "tiny0:")
	os.WriteFile(conf, []byte(string(b)+strings.Replace(old, "user:tinydisk", "user:tinydisk@0", 1)), 0o644)
	script := waitReady + `ready vm0;
(sleep 1; echo 'echo saved-$((6*7)) >/mnt/pcocc-disk; sync; echo WROTE-$((1+1))'; sleep 6) | pcocc console vm0 | grep -a -o WROTE-2;
pcocc save vm0`
	out, errs, code := v.pcocc("alloc", "-m", "256", "-E", script, "tiny")
	if code != 0 || !strings.Contains(out, "WROTE-2") || !strings.Contains(out, "vm0 saved as tinydisk@1") {
		t.Fatalf("alloc: exit %d\n%s\n%s", code, out, errs)
	}
	script = waitReady + `ready vm0; ready vm1; pcocc console -l vm0 | grep -a GUEST-DISK; pcocc console -l vm1 | grep -a GUEST-DISK`
	out, errs, code = v.pcocc("alloc", "-m", "256", "-E", script, "tiny:1,tiny0:1")
	if code != 0 {
		t.Fatalf("second alloc: exit %d\n%s\n%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "saved-42") || strings.Contains(lines[1], "saved-42") {
		t.Errorf("disks seen by the VMs (want the saved revision in vm0, revision 0 unchanged in vm1):\n%s", out)
	}
	v.assertNothingLeft()
}

// bootsInParallel marks a test whose guest takes minutes to boot under
// emulation (TCG) as parallel: such tests run together once the others
// are done, at most -test.parallel at once (scripts/run-e2e.sh: 2, one
// guest per core here), so that the CI's run stays short. Each has its own
// user environment (home, runtime and job directories).
func bootsInParallel(t *testing.T) {
	t.Parallel()
}
