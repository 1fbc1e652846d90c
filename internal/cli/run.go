package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/mountspec"
	"github.com/pcocc/pcocc/internal/runtime"
)

type runOptions struct {
	env        []string
	mounts     []string
	modules    []string // -M/--ctr-module
	modules2   []string // --module, the same option
	noDefaults bool
	noEP       bool
	entrypoint string
	cwd        string
	writable   bool
	dryRun     bool
}

func newRunCmd(g *Globals) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE|TEMPLATE [CMD [ARGS...]] [-- ARGS...]",
		Short: "Run a command in a container",
		Long:  runLong,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, g, o, args)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&o.env, "env", "e", nil, "VAR | VAR=VAL | re(REGEX) | pp(VAR)=VAL | ps(VAR)=VAL (repeatable)")
	f.StringArrayVar(&o.mounts, "mount", nil, "src=PATH,dst=PATH[,ro][,type=bind|squashfs] (repeatable; ':' separates several)")
	f.StringSliceVarP(&o.modules, "ctr-module", "M", nil, "modules, comma separated")
	f.StringSliceVar(&o.modules2, "module", nil, "same as --ctr-module")
	f.BoolVar(&o.noDefaults, "no-defaults", false, "do not apply default modules")
	f.BoolVar(&o.noEP, "no-ep", false, "do not run the image entrypoint")
	f.StringVar(&o.entrypoint, "entrypoint", "", "replace the image entrypoint (\"\": none)")
	f.StringVarP(&o.cwd, "cwd", "w", "", "working directory in the container")
	f.BoolVar(&o.writable, "writable", false, "a writable tmpfs layer over the image (changes are lost at exit)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the launch plan as JSON and run nothing")
	c.SetFlagErrorFunc(runFlagError)
	return c
}

const runLong = `Run a command in a container made from an image, as you.

Options after the image name still belong to pcocc: the program's own options
go after '--' (pcocc run IMAGE -- ls -l). Exit status: the program's (128+N if
signal N killed it); 125 when pcocc could not run it, 126 when the command is
not executable, 127 when it is not found. See docs/running.md.`

// runFlagError makes a bad option a pcocc run error (125, like docker run),
// and points at '--', the usual reason: an option meant for the program.
func runFlagError(c *cobra.Command, err error) error {
	return WithCode(ExitRunError, fmt.Errorf("%w; options after the image name belong to pcocc: give the program's options after '--' (pcocc run IMAGE -- CMD -OPT)", err))
}

func runRun(cmd *cobra.Command, g *Globals, o *runOptions, args []string) error {
	spec, err := planRun(cmd, g, o, args)
	if err != nil {
		return WithCode(ExitRunError, err)
	}
	if o.dryRun {
		b, err := json.MarshalIndent(spec, "", "  ")
		if err != nil {
			return WithCode(ExitRunError, err)
		}
		_, err = fmt.Fprintf(g.Stdout, "%s\n", b)
		return err
	}
	code, err := runtime.Run(spec, runtime.Options{
		Stdin: asFile(g.Stdin, os.Stdin), Stdout: asFile(g.Stdout, os.Stdout), Stderr: asFile(g.Stderr, os.Stderr),
		Log: g.Log,
	})
	if err != nil {
		return WithCode(code, err)
	}
	if code != 0 {
		return &ExitError{Code: code} // the program spoke for itself
	}
	return nil
}

// planRun turns the command line into a launch plan.
func planRun(cmd *cobra.Command, g *Globals, o *runOptions, args []string) (*container.Spec, error) {
	if mods := append(o.modules, o.modules2...); len(mods) > 0 {
		return nil, fmt.Errorf("unknown module %q", mods[0]) // modules: not yet configurable
	}
	layer, err := commandLineLayer(o)
	if err != nil {
		return nil, err
	}
	img, err := lookupImage(cmd.Context(), g, args[0])
	if err != nil {
		return nil, err
	}
	host, err := hostContext()
	if err != nil {
		return nil, err
	}
	in := container.Input{
		Image:  container.Image{Ref: args[0], Squashfs: img.Squashfs, Config: img.Meta.Config},
		Host:   host,
		Layers: []container.Layer{layer},
		Options: container.Options{
			Cwd: o.cwd, NoEntrypoint: o.noEP, Writable: o.writable, Args: args[1:],
		},
	}
	if cmd.Flags().Changed("entrypoint") {
		in.Options.Entrypoint = &o.entrypoint
	}
	return container.Plan(in)
}

// commandLineLayer parses --env and --mount: the layer that wins over all.
func commandLineLayer(o *runOptions) (container.Layer, error) {
	l := container.Layer{Origin: container.OriginCommandLine}
	for _, e := range o.env {
		s, err := envspec.Parse(e)
		if err != nil {
			return l, fmt.Errorf("--env: %w", err)
		}
		l.Env = append(l.Env, s)
	}
	for _, m := range o.mounts {
		ms, err := mountspec.ParseList(m)
		if err != nil {
			return l, fmt.Errorf("--mount: %w", err)
		}
		l.Mounts = append(l.Mounts, ms...)
	}
	return l, nil
}

func hostContext() (container.Host, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return container.Host{}, fmt.Errorf("current directory: %w", err)
	}
	name, _ := os.Hostname()
	return container.Host{Env: os.Environ(), Cwd: cwd, Hostname: name, User: runtime.CurrentUser()}, nil
}

// asFile passes the terminal or file itself to the container (never a copy
// through a pipe, so that it stays a terminal).
func asFile(v any, def *os.File) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return def
}
