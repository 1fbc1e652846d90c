//go:build !pcocc_launcher

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/runtime"
	"github.com/pcocc/pcocc/internal/slurm"
	"github.com/pcocc/pcocc/internal/sqfuse"
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

func newSpankCmd(g *Globals) *cobra.Command {
	o := &slurm.Options{}
	c := &cobra.Command{Use: "__spank", Hidden: true, Short: "Helper of the Slurm SPANK plugin"}
	check := &cobra.Command{
		Use: "check", Short: "Check the --ctr options before a job or step is submitted", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := planSpank(cmd, g, o)
			if err == nil {
				err = runtime.Preflight(spec)
			}
			return exitcode.Wrap(exitcode.Setup, err)
		},
	}
	start := &cobra.Command{
		Use: "start", Short: "Set up this node's container of a step and hold it", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitcode.Wrap(exitcode.Setup, startSpank(cmd, g, o))
		},
	}
	for _, sub := range []*cobra.Command{check, start} {
		f := sub.Flags()
		f.StringVar(&o.Image, "ctr", "", "image or template")
		f.StringVar(&o.Mounts, "ctr-mount", "", "mount specs, ':' separated")
		f.StringVar(&o.Modules, "ctr-module", "", "modules, ',' separated")
		f.StringVar(&o.Env, "ctr-env", "", "env specs, ',' separated")
		f.BoolVar(&o.NoDefaults, "ctr-no-defaults", false, "do not apply default modules")
		f.StringVar(&o.Workdir, "ctr-workdir", "", "working directory in the container")
		c.AddCommand(sub)
	}
	return c
}

// planSpank plans the container the way `pcocc run --no-ep IMAGE CMD`
// would; the tasks' commands replace CMD, a placeholder.
func planSpank(cmd *cobra.Command, g *Globals, o *slurm.Options) (*container.Spec, error) {
	if o.Image == "" {
		return nil, errors.New("--ctr: no image or template named")
	}
	if ref, ok := sourceRef(g.config(), o.Image); ok {
		return nil, errSpankSource(o.Image, ref)
	}
	ro := &runOptions{
		env: slurm.EnvSpecs(o.Env), modules: slurm.Modules(o.Modules),
		noDefaults: o.NoDefaults, noEP: true, cwd: o.Workdir,
		envOpt: "--ctr-env", mountOpt: "--ctr-mount",
	}
	if o.Mounts != "" {
		ro.mounts = []string{o.Mounts}
	}
	spec, err := planRun(cmd.Context(), g, ro, []string{o.Image, spankPlaceholder})
	if err != nil {
		return nil, fmt.Errorf("--ctr=%s: %w", o.Image, err)
	}
	return spec, nil
}

// startSpank holds the container until it is killed, after sending the
// plugin what its tasks need to join it.
func startSpank(cmd *cobra.Command, g *Globals, o *slurm.Options) error {
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
	spec, err := planSpank(cmd, g, o)
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
	return runtime.Hold(spec, runtime.Options{Stdin: devnull, Stdout: os.Stderr, Stderr: os.Stderr, Log: g.Log, Images: sqfuse.InProcess{}},
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
	return os.NewFile(uintptr(fd), name), nil
}

// errSpankSource refuses a transport reference: the helper would import it
// at the start of the step, on every node at once, with no terminal to show
// progress and under Slurm's launch timeouts. Importing it before the job
// costs one command.
func errSpankSource(src string, ref imagesrc.Ref) error {
	name := ref.Path // a file or directory; docker://, docker-daemon: have a name
	if name == "" {
		name = ref.Ref
	}
	name = importName(name)
	return fmt.Errorf("--ctr=%s: srun runs imported images only: import it before the job ('pcocc image import %s %s'), then use --ctr=%s",
		src, src, name, name)
}
