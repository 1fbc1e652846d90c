package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dockerEnv is a user environment with the Docker guest (scripts/
// vm-images.sh docker) as the templates docker and docker-persist, the
// latter's data disk in $CCCWORKDIR, and busybox in the user repository
// (as bb) for the images built in the engine.
type dockerEnv struct {
	*vmEnv
	work string // $CCCWORKDIR
}

// Skipped without the guest (scripts/test.sh builds it, once: it is cached;
// minutes of debootstrap); each test boots it (a minute or
// more under emulation).
func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	requireDockerGuest(t)
	return addDocker(t, newVMEnv(t))
}

// requireDockerGuest skips without the Docker guest or the busybox fixture.
func requireDockerGuest(t *testing.T) {
	t.Helper()
	guest := filepath.Join(os.Getenv("PCOCC_VM_IMAGES"), "docker")
	if _, err := os.Stat(filepath.Join(guest, "disk.qcow2")); os.Getenv("PCOCC_VM_IMAGES") == "" || err != nil {
		t.Skip("no Docker VM guest in $PCOCC_VM_IMAGES/docker: scripts/vm-images.sh docker builds it")
	}
	bb := filepath.Join(os.Getenv("PCOCC_FIXTURES"), "busybox.docker.tar")
	if _, err := os.Stat(bb); err != nil {
		t.Skip("no fixture busybox.docker.tar in $PCOCC_FIXTURES")
	}
}

// addDocker adds to v what newDockerEnv describes.
func addDocker(t *testing.T, v *vmEnv) *dockerEnv {
	t.Helper()
	guest := filepath.Join(os.Getenv("PCOCC_VM_IMAGES"), "docker")
	bb := filepath.Join(os.Getenv("PCOCC_FIXTURES"), "busybox.docker.tar")
	d := &dockerEnv{vmEnv: v, work: filepath.Join(v.home, "work")}
	os.MkdirAll(d.work, 0o755)
	conf := filepath.Join(v.home, "conf", "templates.yaml")
	b, _ := os.ReadFile(conf)
	tpl := fmt.Sprintf(`docker:
  image: user:dockerdisk
  kernel: %s/vmlinuz
  initrd: %s/initrd.img
docker-persist:
  inherits: docker
  persistent-drives:
    - $CCCWORKDIR/.pcocc.docker.persistent.img
`, guest, guest)
	os.WriteFile(conf, append(b, tpl...), 0o644)
	v.env = append(v.env, "CCCWORKDIR="+d.work)
	v.mustPcocc("image", "import", filepath.Join(guest, "disk.qcow2"), "dockerdisk")
	v.mustPcocc("image", "import", "docker-archive:"+bb, "bb")
	return d
}

// alloc runs pcocc docker alloc -E script in dir and fails on an error.
func (d *dockerEnv) alloc(dir, script string, args ...string) (string, string) {
	d.t.Helper()
	cmd := d.command(append([]string{"docker", "alloc", "-T", "1200", "-E", script}, args...)...)
	cmd.Dir = dir
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		d.t.Fatalf("docker alloc: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	d.t.Logf("docker alloc -E: %s", time.Since(start).Round(time.Second))
	return out.String(), errb.String()
}

// The seed's docker_job.sh (a build with COPY and RUN, no network; docker
// save), an image of the repository loaded with pcocc docker import and run
// with --network none, pcocc image import docker-daemon: inside, pcocc
// docker build and pcocc docker export, each image then run by pcocc on the
// host once the environment is over; the engine's socket is private;
// nothing is left.
func TestDockerEnvEphemeral(t *testing.T) {
	requireDockerGuest(t)
	bootsInParallel(t)
	d := newDockerEnv(t)
	ctx := filepath.Join(d.home, "ctx")
	os.MkdirAll(ctx, 0o755)
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM bb:latest\nCOPY hello.txt /hello.txt\nRUN echo built-$((6*7)) >/built.txt\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "hello.txt"), []byte("hello from the build context\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "docker_job.sh"), []byte("#!/bin/sh\nset -e\n"+
		"docker build --network none -t myubuntu:latest .\n"+
		"docker save myubuntu:latest -o myubuntu_latest.tar\n"), 0o755)
	script := `set -e
pcocc docker import bb bb:latest
docker run --rm --network none bb:latest echo run-$((6*7))
./docker_job.sh >build.log 2>&1
pcocc image import docker-daemon:myubuntu:latest myubuntu
pcocc docker build . built >pbuild.log 2>&1 || { cat pbuild.log; exit 1; }
pcocc docker export myubuntu:latest exported
s=${DOCKER_HOST#unix://}; stat -c '%a %U' "$(dirname "$s")"
eval "$(pcocc docker env)"; echo "env: $DOCKER_HOST" | sed "s|$s|SOCK|"`
	out, errs := d.alloc(ctx, script)
	assertContains(t, "stderr", errs, "Configuring hosts... (done)", "Waiting for Docker VM to start ...")
	user := os.Getenv("USER")
	assertContains(t, "stdout", out, "run-42\n", "700 "+user+"\n", "env: unix://SOCK\n")
	if st, err := os.Stat(filepath.Join(ctx, "myubuntu_latest.tar")); err != nil || st.Size() == 0 {
		b, _ := os.ReadFile(filepath.Join(ctx, "build.log"))
		t.Fatalf("docker save: %v\n%s", err, b)
	}
	d.assertNothingLeft()
	for _, img := range []string{"myubuntu", "built", "exported"} { // image import, docker build, docker export
		got := d.mustPcocc("run", img, "cat", "/hello.txt", "/built.txt")
		if got != "hello from the build context\nbuilt-42\n" {
			t.Errorf("pcocc run %s, built in the environment: %q", img, got)
		}
	}
}

// docker-persist: an image loaded in one allocation is in the next; a
// second allocation while one runs is refused with one line naming it. The
// next one is a docker batch without a script, joined with docker env and
// docker shell, and ended by pcocc cancel, which returns once it has ended
// (its engine stopped and its disk unmounted first: no warning).
func TestDockerEnvPersist(t *testing.T) {
	requireDockerGuest(t)
	bootsInParallel(t)
	d := newDockerEnv(t)
	disk := filepath.Join(d.work, ".pcocc.docker.persistent.img")
	// As the seed says, with the tools' own paths (/sbin is not in every PATH).
	for _, c := range [][]string{{"/usr/bin/qemu-img", "create", "-q", "-f", "raw", disk, "1G"}, {"/sbin/mkfs.ext4", "-q", disk}} {
		if err := run(time.Minute, c[0], c[1:]...); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
	}
	// The first allocation, while it runs, tries a second one.
	script := `set -e
pcocc docker import bb kept:1 >/dev/null
if pcocc docker alloc -t docker-persist -E true 2>second.err; then echo second-started; fi
cat second.err`
	out, _ := d.alloc(d.home, script, "-t", "docker-persist")
	if strings.Contains(out, "second-started") || strings.Count(strings.TrimSpace(out), "\n") != 0 ||
		!strings.Contains(out, "is in use by job ") {
		t.Errorf("the second allocation: %q, want one line naming the holder's job", out)
	}
	batchOut := filepath.Join(d.home, "batch.out")
	out = d.mustPcocc("docker", "batch", "-t", "docker-persist", "-T", "1200", "-o", batchOut)
	var id int
	if _, err := fmt.Sscanf(out, "Submitted batch job %d", &id); err != nil {
		t.Fatalf("docker batch: %q", out)
	}
	jid := fmt.Sprint(id)
	deadline := time.Now().Add(20 * time.Minute)
	for {
		if _, _, code := d.pcocc("docker", "env", "-j", jid); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(batchOut)
			t.Fatalf("the batch's engine is not ready after 20 minutes:\n%s", b)
		}
		time.Sleep(2 * time.Second)
	}
	out = d.mustPcocc("docker", "shell", "-j", jid, "-E", `docker image ls --format '{{.Repository}}:{{.Tag}}'`)
	if !strings.Contains(out, "kept:1\n") {
		t.Errorf("the next allocation's images: %q, want kept:1", out)
	}
	d.mustPcocc("cancel", "-j", jid)
	if dirs := jobDirs(d.jobsDir()); len(dirs) > 0 {
		t.Errorf("pcocc cancel returned before the job ended: %v", dirs)
	}
	if b, _ := os.ReadFile(batchOut); strings.Contains(string(b), "not unmounted cleanly") {
		t.Errorf("the cancelled batch did not flush its data disk:\n%s", b)
	}
	if _, err := os.Stat(disk + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock is left: %v", err)
	}
	d.assertNothingLeft()
}
