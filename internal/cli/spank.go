package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/runtime"
	"github.com/pcocc/pcocc/internal/slurm"
)

// The SPANK plugin (spank/) hands its option strings, unchanged, to these
// hidden commands: `check` on the submit side (srun, sbatch, salloc) to fail
// before anything is allocated, `start` in slurmstepd, once per node and
// step, to set the node's container up and hold it. Both plan the launch
// with pcocc run's own code, so options, modules, templates, env and mount
// specs have one parser and one meaning. Contract: spank/README.md.

// spankPlaceholder stands for the tasks' commands in the plan.
const spankPlaceholder = "<slurm task>"

// Descriptors the plugin gives `start`: it writes the slurm.Result on the
// first; EOF on the second (the plugin closed it, or slurmstepd is gone)
// means the step is over.
const (
	spankResultFD = 3
	spankStopFD   = 4
)

// runSpank runs VERB (check, start) of the plugin's helper.
func runSpank(ctx context.Context, g *Globals, verb string, o *slurm.Options) error {
	g.launched = true
	if verb == "start" {
		return exitcode.Wrap(exitcode.Setup, startSpank(ctx, g, o))
	}
	spec, err := planSpank(ctx, g, o)
	if err == nil {
		err = runtime.Preflight(spec)
	}
	return exitcode.Wrap(exitcode.Setup, err)
}

// planSpank plans the container the way `pcocc run --no-ep IMAGE CMD`
// would; the tasks' commands replace CMD, a placeholder.
func planSpank(ctx context.Context, g *Globals, o *slurm.Options) (*container.Spec, error) {
	if o.Image == "" {
		return nil, errors.New("--ctr: no image or template named")
	}
	if err := spankSource(g.config(), o.Image); err != nil {
		return nil, err
	}
	ro := &runOptions{
		env: slurm.EnvSpecs(o.Env), modules: slurm.Modules(o.Modules),
		noDefaults: o.NoDefaults, noEP: true, cwd: o.Workdir,
		envOpt: "--ctr-env", mountOpt: "--ctr-mount",
	}
	if o.Mounts != "" {
		ro.mounts = []string{o.Mounts}
	}
	spec, err := planRun(ctx, g, ro, []string{o.Image, spankPlaceholder})
	if err != nil {
		return nil, fmt.Errorf("--ctr=%s: %w", o.Image, err)
	}
	return spec, nil
}

// startSpank holds the container until it is killed, after sending the
// plugin what its tasks need to join it.
func startSpank(ctx context.Context, g *Globals, o *slurm.Options) error {
	out, err := spankFile(spankResultFD, "result")
	if err != nil {
		return err
	}
	stopFile, err := spankFile(spankStopFD, "stop")
	if err != nil {
		return err
	}
	// Not closed on error: the plugin reads EOF as "failed" and waits for
	// this process to end, after main has printed the error.
	spec, err := planSpank(ctx, g, o)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, stopFile)
		close(stop)
	}()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer devnull.Close()
	return runtime.Hold(spec, runtime.Options{Stdin: devnull, Stdout: os.Stderr, Stderr: os.Stderr, Log: g.Log, Images: imageWork(), SqfuseExe: sqfuseProgram(), KernelTree: o.KernelTree},
		func(h runtime.Held) error {
			defer out.Close()
			return slurm.Result{Init: h.Init, Cwd: spec.Cwd, CwdStrict: spec.CwdFrom == container.CwdOption, Env: spec.Env}.Write(out)
		}, stop)
}

// spankFile takes one of the plugin's descriptors, made close-on-exec first
// (the plugin's dup2 cleared it): the programs this helper runs, module
// generators among them, must not write forged records to the plugin nor
// hold its pipes open after they exit.
func spankFile(fd int, name string) (*os.File, error) {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return nil, fmt.Errorf("no %s descriptor (%d): this command is for the SPANK plugin", name, fd)
	}
	pluginFDs = append(pluginFDs, fd)
	return os.NewFile(uintptr(fd), name), nil
}

// pluginFDs are the plugin's descriptors spankFile took: a launcher that
// hands the command over to pcocc-cli (execFull) gives them back first, so
// that the full program finds them as the plugin passed them.
var pluginFDs []int
