package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/modules"
	"github.com/pcocc/pcocc/internal/mountspec"
	"github.com/pcocc/pcocc/internal/runtime"
)

// pcocc run without its command line: what the cobra command (run.go) and
// the launcher's own parser (runargs.go) both call.

type runOptions struct {
	env        []string
	mounts     []string
	modules    []string // -M/--ctr-module, also --module
	noDefaults bool
	noEP       bool
	entrypoint string
	cwd        string
	writable   bool
	dryRun     bool
	// entrypointSet: --entrypoint was given (its value may be "": none)
	entrypointSet bool
	// names of the env and mount options in messages (srun says --ctr-env)
	envOpt, mountOpt string
}

// runRun plans and runs the container of args (TARGET [CMD...]).
func runRun(ctx context.Context, g *Globals, o *runOptions, args []string) error {
	g.launched = !o.dryRun // --dry-run makes nothing
	spec, err := planRun(ctx, g, o, args)
	if err != nil {
		if exitcode.Of(err) > exitcode.Signaled { // an interrupted import of an image source
			return err
		}
		return exitcode.Wrap(exitcode.Setup, err)
	}
	if o.dryRun {
		// Not HTML-escaped: the reasons compare sizes with < and >.
		enc := json.NewEncoder(g.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(dryRunPlan(spec, g))
	}
	// Not cancelled by the signals that cancel the command's context: pcocc
	// run passes them on to the program, whose end ends the run.
	code, err := runtime.Run(context.WithoutCancel(ctx), spec, runtime.Options{
		Stdin: asFile(g.Stdin, os.Stdin), Stdout: asFile(g.Stdout, os.Stdout), Stderr: asFile(g.Stderr, os.Stderr),
		Log: g.Log, Images: imageWork(), SqfuseExe: sqfuseProgram(),
	})
	if err != nil {
		return exitcode.Wrap(code, err)
	}
	if code != 0 {
		return exitcode.Silent(code) // the program spoke for itself
	}
	return nil
}

// planRun turns the command line into a launch plan.
func planRun(ctx context.Context, g *Globals, o *runOptions, args []string) (*container.Spec, error) {
	cli, err := commandLineLayer(o)
	if err != nil {
		return nil, err
	}
	target, err := g.resolver().Target(ctx, args[0])
	if err != nil {
		return nil, err
	}
	layers, err := moduleLayers(ctx, g, o, target.Template)
	if err != nil {
		return nil, err
	}
	host, err := hostContext()
	if err != nil {
		return nil, err
	}
	in := container.Input{
		Image:  target.Image,
		Host:   host,
		Layers: append(layers, cli),
		Options: container.Options{
			Cwd: o.cwd, NoEntrypoint: o.noEP, Writable: o.writable, Args: args[1:],
		},
	}
	if o.entrypointSet {
		in.Options.Entrypoint = &o.entrypoint
	}
	return container.Plan(in)
}

// moduleLayers resolves the default modules, the template's and those of
// -M, running their generators: the layers below the command line's.
func moduleLayers(ctx context.Context, g *Globals, o *runOptions, t *config.Template) ([]container.Layer, error) {
	self, _ := os.Executable()
	r := &modules.Resolver{
		Config:     g.config(),
		HostEnv:    os.Environ(),
		Generators: &modules.Generators{Self: self},
		Warn:       func(msg string) { g.Log.Warn(msg) },
	}
	var names []string
	for _, m := range o.modules {
		if m = strings.TrimSpace(m); m != "" {
			names = append(names, m)
		}
	}
	return r.Resolve(ctx, modules.Request{Template: t, Modules: names, NoDefaults: o.noDefaults})
}

// commandLineLayer parses --env and --mount: the layer that wins over all.
func commandLineLayer(o *runOptions) (container.Layer, error) {
	l := container.Layer{Origin: container.OriginCommandLine}
	for _, e := range o.env {
		s, err := envspec.Parse(e)
		if err != nil {
			return l, fmt.Errorf("%s: %w", optName(o.envOpt, "--env"), err)
		}
		l.Env = append(l.Env, s)
	}
	for _, m := range o.mounts {
		ms, err := mountspec.ParseList(m)
		if err != nil {
			return l, fmt.Errorf("%s: %w%s", optName(o.mountOpt, "--mount"), err, mountSpecHint(m))
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

func optName(set, def string) string {
	if set != "" {
		return set
	}
	return def
}

// dryRunPlan is what --dry-run prints: the Spec, and which mount a run
// would use for its image on this node and why (imageMount; left out, with
// a warning, when that cannot be told: the run itself would then say why).
func dryRunPlan(spec *container.Spec, g *Globals) any {
	c, err := runtime.ExplainMount(spec)
	if err != nil {
		if g.Log != nil {
			g.Log.Warn(fmt.Sprintf("image mount: %v", err))
		}
		return spec
	}
	return struct {
		*container.Spec
		ImageMount runtime.MountChoice `json:"imageMount"`
	}{spec, c}
}
