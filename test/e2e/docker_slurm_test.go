package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docker alloc/batch --dry-run under Slurm: one VM of the template, 2 GiB
// per core, the launcher told to wait for the engine, the hypervisor to
// attach the data disk; a bad template is one line and nothing else.
func TestDockerEnvSlurmDryRun(t *testing.T) {
	v := newSlurmVMEnv(t)
	out := v.mustPcocc("docker", "alloc", "--dry-run", "-p", "debug", "-c", "2", "-t", "tiny")
	salloc := regexp.MustCompile(`^salloc -n 1 -c 2 --mem-per-cpu=2048 -p debug -J pcocc --distribution=block:block -- \S+/pcocc-vm __slurm-launch --network cluster --ports 8080 --docker 5m0s -c 2 -m 4096 tiny\n` +
		`srun -K -X -Q --vm=cluster:8080 -n 1 \S+/pcocc-vm __vm-hypervisor --docker -c 2 -m 4096 tiny\n$`)
	if !salloc.MatchString(out) {
		t.Errorf("docker alloc --dry-run:\n%s", out)
	}
	out = v.mustPcocc("docker", "batch", "--dry-run", "-T", "600", "-t", "tiny")
	if !strings.Contains(out, "sbatch -n 1 -c 1 --mem-per-cpu=2048 -J pcocc --distribution=block:block -o pcocc-%j.out '--wrap=exec ") ||
		!strings.Contains(out, "--docker 10m0s -c 1 -m 2048 tiny") || !strings.Contains(out, "while :; do sleep 3600; done") {
		t.Errorf("docker batch --dry-run:\n%s", out)
	}
	// Slurm's options go to salloc, after pcocc's; -t is the template.
	out = v.mustPcocc("docker", "alloc", "--dry-run", "-t", "tiny", "--time", "10", "--qos", "q")
	if !regexp.MustCompile(`^salloc -n 1 -c 1 --mem-per-cpu=2048 -J pcocc --distribution=block:block --time 10 --qos q -- \S+/pcocc-vm __slurm-launch .* tiny\n`).MatchString(out) {
		t.Errorf("docker alloc --dry-run with Slurm options:\n%s", out)
	}
	_, errs, code := v.pcocc("docker", "alloc", "--dry-run", "-t", "nosuch")
	if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, `"nosuch"`) || strings.Contains(errs, "salloc") {
		t.Errorf("a bad template: exit %d, %q", code, errs)
	}
}

// The Docker environment through Slurm (batch.yaml type: slurm), with
// docker-persist: a docker batch without a script runs on a node; a
// second allocation of the data disk is refused at once, one line naming
// the holder's job; from a "login node" (another TMPDIR than the job's:
// another host's /tmp) docker env starts a forwarder whose socket is
// private, pcocc docker import loads an image that docker run runs;
// docker shell on the job's own host uses the launcher's socket; pcocc
// cancel ends the batch as its script's end would (the engine stopped and
// its disk unmounted first: no warning), the forwarder ends with the job
// and nothing is left; the image is on the data disk.
func TestDockerEnvSlurm(t *testing.T) {
	requireSlurmVM(t)
	requireDockerGuest(t)
	bootsInParallel(t)
	d := addDocker(t, newSlurmEtcdEnv(t))
	disk := filepath.Join(d.work, ".pcocc.docker.persistent.img")
	for _, c := range [][]string{{"/usr/bin/qemu-img", "create", "-q", "-f", "raw", disk, "1G"}, {"/sbin/mkfs.ext4", "-q", disk}} {
		if err := run(time.Minute, c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
	}
	jobTmp, loginTmp := filepath.Join(d.home, "tmp-job"), filepath.Join(d.home, "tmp-login")
	os.Mkdir(jobTmp, 0o700)
	os.Mkdir(loginTmp, 0o700)
	d.env = append(d.env, "TMPDIR="+jobTmp)
	login := func(args ...string) (string, string, int) {
		cmd := d.command(args...)
		cmd.Env = append(cmd.Env, "TMPDIR="+loginTmp)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	batchOut := filepath.Join(d.home, "batch-%j.out")
	out := d.mustPcocc("docker", "batch", "-t", "docker-persist", "-T", "1200", "-o", batchOut)
	m := regexp.MustCompile(`Submitted batch job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker batch: %q", out)
	}
	jid := m[1]
	batchOut = strings.ReplaceAll(batchOut, "%j", jid)
	defer run(time.Minute, "scancel", jid)
	deadline := time.Now().Add(20 * time.Minute)
	var envOut string
	for {
		o, errs, code := login("docker", "env", "-j", jid)
		if code == 0 {
			envOut = o
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(batchOut)
			t.Fatalf("the batch's engine is not ready after 20 minutes: %s\n%s", errs, b)
		}
		time.Sleep(3 * time.Second)
	}
	userDir := filepath.Join(loginTmp, fmt.Sprintf("pcocc-docker-%d", os.Getuid()))
	sock := filepath.Join(userDir, jid, "docker", "docker.sock")
	if want := "export DOCKER_HOST=unix://" + sock + "\nexport PCOCC_JOB_ID=" + jid + "\n"; envOut != want {
		t.Errorf("docker env -j %s:\n got %q\nwant %q", jid, envOut, want)
	}
	if st, err := os.Stat(userDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v, want a private directory", userDir, err)
	}
	if len(procsNaming("__docker-forward")) != 1 {
		t.Errorf("forwarders: %v, want one", procsNaming("__docker-forward"))
	}
	// The data disk is the job's: a second allocation is refused before it is submitted.
	_, errs, code := d.pcocc("docker", "alloc", "-t", "docker-persist", "-E", "true")
	if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "is in use by job "+jid+" of ") {
		t.Errorf("a second allocation: exit %d, %q, want one line naming job %s", code, errs, jid)
	}
	if o, errs, code := login("docker", "import", "-j", jid, "bb", "kept:1"); code != 0 {
		t.Fatalf("docker import through the forwarder: exit %d\n%s%s", code, o, errs)
	}
	script := `docker run --rm --network none kept:1 echo run-$((6*7))`
	if o, errs, code := login("docker", "shell", "-j", jid, "-E", script); code != 0 || o != "run-42\n" {
		t.Errorf("docker run through the forwarder: exit %d, %q\n%s", code, o, errs)
	}
	// On the job's host: the launcher's own socket.
	o := d.mustPcocc("docker", "shell", "-j", jid, "-E", `echo "$DOCKER_HOST"; docker image ls --format '{{.Repository}}:{{.Tag}}'`)
	if want := "unix://" + filepath.Join(jobTmp, fmt.Sprintf("pcocc-docker-%d", os.Getuid()), jid, "docker", "docker.sock") + "\n"; !strings.HasPrefix(o, want) || !strings.Contains(o, "kept:1\n") {
		t.Errorf("docker shell on the job's host: %q, want %q then kept:1", o, want)
	}
	if dirs, _ := filepath.Glob(filepath.Join(jobTmp, "pcocc-"+jid+"-vm0-*")); len(dirs) != 1 {
		t.Errorf("the hypervisor's directory in the job's TMPDIR: %v, want one", dirs)
	}
	d.mustPcocc("cancel", "-j", jid)
	if b, _ := os.ReadFile(batchOut); strings.Contains(string(b), "not unmounted cleanly") {
		t.Errorf("the cancelled batch did not flush its data disk:\n%s", b)
	}
	if _, err := os.Stat(disk + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock is left: %v", err)
	}
	// The hypervisor's directory on the node (its TMPDIR is the job's).
	if left, _ := filepath.Glob(filepath.Join(jobTmp, "pcocc-"+jid+"-vm*")); len(left) > 0 {
		t.Errorf("the hypervisor's directory is left: %v", left)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		procs := procsNaming("__docker-forward")
		_, e1 := os.Stat(filepath.Join(userDir, jid))
		_, e2 := os.Stat(filepath.Join(jobTmp, fmt.Sprintf("pcocc-docker-%d", os.Getuid()), jid))
		if len(procs) == 0 && os.IsNotExist(e1) && os.IsNotExist(e2) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the job: forwarders %v, socket directories %v %v", procs, e1, e2)
		}
	}
	// The engine's tag store is on the data disk, flushed: what the next
	// allocation finds (TestDockerEnvPersist boots it; read here with
	// debugfs, a boot less).
	b, err := exec.Command("/sbin/debugfs", "-R", "cat /image/overlay2/repositories.json", disk).Output()
	if err != nil || !strings.Contains(string(b), `"kept:1"`) {
		t.Errorf("the data disk's tag store: %v %q, want kept:1", err, b)
	}
}

// A VM that dies while the launcher waits for its engine ends the wait at
// once, with the hypervisor's reason (vm0, its node, QEMU's end), not after
// -T; the script never runs. The tiny guest has no sshd: the launcher
// would wait for it until -T.
func TestDockerEnvSlurmVMDies(t *testing.T) {
	requireSlurmVM(t)
	v := newSlurmEtcdEnv(t)
	cmd := v.command("docker", "alloc", "-t", "tiny", "-T", "600", "-E", "echo NOT-REACHED")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var errs strings.Builder
	sc := bufio.NewScanner(stderr)
	jid := ""
	for sc.Scan() {
		errs.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`Granted job allocation (\d+)`).FindStringSubmatch(sc.Text()); m != nil {
			jid = m[1]
		}
		if strings.Contains(sc.Text(), "Waiting for Docker VM to start ...") {
			break
		}
	}
	if jid == "" {
		t.Fatalf("no job, or no wait for the engine:\n%s", errs.String())
	}
	defer run(time.Minute, "scancel", jid)
	// vm[0]: the pattern does not match pkill's own command line.
	if err := run(time.Minute, "pkill", "-KILL", "-u", strconv.Itoa(os.Getuid()), "-f", "pcocc-"+jid+"-vm[0]-"); err != nil {
		t.Fatalf("pkill of the job's QEMU: %v", err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		for sc.Scan() {
			errs.WriteString(sc.Text() + "\n")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the allocation still waits 2 minutes after its VM died:\n%s", errs.String())
	}
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("exit %d, %v after the kill; stderr:\n%s", code, time.Since(start).Round(time.Millisecond), errs.String())
	if code == 0 || strings.Contains(out.String(), "NOT-REACHED") || !strings.Contains(errs.String(), "vm0: on ") ||
		strings.Contains(errs.String(), "did not answer within") {
		t.Errorf("exit %d after %v\nstdout %q\nstderr:\n%s", code, time.Since(start).Round(time.Second), out.String(), errs.String())
	}
}
