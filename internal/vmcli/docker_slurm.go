package vmcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/dockerenv"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vm"
)

// The Docker environment under Slurm (batch.yaml type: slurm): docker
// alloc and batch submit a one-VM cluster as alloc and batch do; the
// launcher, in the allocation, locks the template's data disk, starts the
// hypervisor's step (which attaches the disk: __vm-hypervisor --docker),
// then logs in to vm0 through its node's reverse NAT and serves the
// engine's socket on its own host (dockerenv.NodeDir) until the shell or
// script ends; it then flushes the data disk and ends the step. Commands
// run on another host (docker shell, env, import, export, build) start a
// forwarder there (docker_forward.go).

// runDockerSlurm submits the environment. A data disk in use is refused
// here, one line, before anything waits in Slurm's queue (the launcher
// takes the lock for the job's life).
func runDockerSlurm(e *env, o *dockerOpts, p dockerenv.Plan, b config.Batch, batch bool) error {
	cat := newCatalog(e)
	disk, err := dockerDataDisk(cat, p.Def)
	if err != nil {
		return err
	}
	if disk != "" {
		release, err := dockerenv.LockDisk(disk, "a pcocc docker command checking it before it submits")
		if err != nil {
			return err
		}
		release()
	}
	j, err := planSlurmJob(e, &o.alloc, cat, b, p.Def)
	if err != nil {
		return err
	}
	j.Docker = p.Timeout
	return submitSlurm(e, &o.alloc, j, batch)
}

// dockerDataDisk is the engine's data disk of the docker template def,
// its first persistent drive, or "".
func dockerDataDisk(cat *catalog, def string) (string, error) {
	if _, err := cat.Template(def); err != nil {
		return "", err
	}
	return firstPersistentDrive(cat, def), nil
}

// firstPersistentDrive of template name, which cat has looked up.
func firstPersistentDrive(cat *catalog, name string) string {
	if t := cat.used[name]; len(t.PersistentDrives) > 0 {
		return t.PersistentDrives[0].Path
	}
	return ""
}

// dockerTemplates is lookup with the data disk of each template attached
// as the guest looks for it (the hypervisor of a Docker environment).
func dockerTemplates(cat *catalog) func(string) (vm.Template, error) {
	return func(name string) (vm.Template, error) {
		t, err := cat.Template(name)
		if disk := firstPersistentDrive(cat, name); err == nil && disk != "" {
			t = withDataDisk(t, disk, dockerenv.DataDiskArgs(disk))
		}
		return t, err
	}
}

// launchDocker is the launcher's part of a Docker environment.
type launchDocker struct {
	e       *env
	timeout time.Duration
	flush   bool // the VM has a data disk
	release func()
}

// startLaunchDocker locks the data disk of the definition's template,
// naming this job as its holder.
func startLaunchDocker(e *env, j slurmJob, id int) (*launchDocker, error) {
	disk, release, err := lockDataDisk(e, newCatalog(e), j.Def, id)
	if err != nil {
		return nil, err
	}
	return &launchDocker{e: e, timeout: j.Docker, flush: disk != "", release: release}, nil
}

// ready serves the engine's socket on this host once the VM runs, waits
// for the engine, and returns the shell's environment and what ends it.
// Ctrl-C, SIGTERM or the step's end (gone: the caller then says the
// hypervisor's reason) stop the wait.
func (d *launchDocker) ready(ctx context.Context, id int, gone <-chan struct{}) ([]string, func(), error) {
	fmt.Fprintln(d.e.stderr, "Waiting for Docker VM to start ...")
	waitCtx, cancel := signal.NotifyContext(ctx, os.Interrupt)
	defer cancel()
	go func() {
		select {
		case <-gone:
			cancel()
		case <-waitCtx.Done():
		}
	}()
	env, stop, err := d.serve(waitCtx, id)
	if err == nil {
		return env, stop, nil
	}
	switch {
	case ctx.Err() != nil:
		return nil, nil, exitcode.Wrap(exitcode.Signaled+int(syscall.SIGTERM), errors.New("terminated while the Docker VM started"))
	case waitCtx.Err() != nil:
		return nil, nil, exitcode.Wrap(exitcode.Signaled+int(syscall.SIGINT), errors.New("interrupted while the Docker VM started"))
	}
	return nil, nil, err
}

func (d *launchDocker) serve(ctx context.Context, id int) ([]string, func(), error) {
	b, err := batchManager(newCatalog(d.e))
	if err != nil {
		return nil, nil, err
	}
	t := target{id: id}
	job, err := t.slurmJob(d.e, b)
	if err != nil {
		return nil, nil, err
	}
	dir, err := dockerenv.NodeDir(os.TempDir(), os.Getuid(), id)
	if err != nil {
		return nil, nil, err
	}
	// Taken as soon as the VM runs: a forwarder on this host takes it
	// only once the engine answers, seconds later at best.
	unlock, ok, err := dockerenv.ServeLock(dir)
	if err == nil && !ok {
		err = fmt.Errorf("job %d: another process serves its Docker socket in %s", id, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	stop, err := serveEngine(ctx, d.e, job, dir, d.timeout, d.flush)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return []string{"DOCKER_HOST=" + dockerenv.DockerHost(dir)}, func() { stop(); unlock() }, nil
}

// dockerSlurmFlag is the hidden flag of the launcher (the engine's
// timeout) and of the hypervisor.
const dockerSlurmFlag = "docker"
