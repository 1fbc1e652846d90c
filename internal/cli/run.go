package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/modules"
	"github.com/pcocc/pcocc/internal/mountspec"
	"github.com/pcocc/pcocc/internal/runtime"
)

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
	// names of the env and mount options in messages (srun says --ctr-env)
	envOpt, mountOpt string
}

func newRunCmd(g *Globals) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE|TEMPLATE [OPTIONS] [--] [CMD [ARGS...]]",
		Short: "Run a command in a container",
		Long:  runLong,
		Example: `  pcocc run my_image                          # the image's entrypoint and command
  pcocc run my_image ls -l /etc               # a command, with its options
  pcocc run my_image --mount src=$HOME/data,dst=/data -- ./analyse /data
  pcocc run -M nvidia my_cuda_image nvidia-smi
  pcocc run --env VARIABLE_TEST my_image sh -c 'echo $VARIABLE_TEST'
  pcocc run my_template -- cmd                # a template, where an image goes
  pcocc run sif:lolcow.sif                    # an image file, imported once into your cache
  pcocc run host-passthrough --mount src=tools.sqsh,dst=$HOME/tools,type=squashfs -- ls ~/tools`,
		Args:              needTarget,
		ValidArgsFunction: completeRunTarget(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, program, err := splitProgram(cmd, args)
			if err != nil {
				return err
			}
			if helpAsked(cmd) {
				return cmd.Help()
			}
			g.Log = newLogger(g) // -v/-q may follow the target
			return runRun(cmd, g, o, append([]string{target}, program...))
		},
	}
	programCommand(c)
	f := c.Flags()
	f.StringArrayVarP(&o.env, "env", "e", nil, "VAR | VAR=VAL | re(REGEX) | pp(VAR)=VAL | ps(VAR)=VAL (repeatable)")
	f.StringArrayVar(&o.mounts, "mount", nil, "src=PATH,dst=PATH[,ro][,type=bind|squashfs] (repeatable; ':' separates several)")
	f.StringSliceVarP(&o.modules, "ctr-module", "M", nil, "modules, comma separated (repeatable; also --module)")
	// --module is another name of the same option, so that "-M a --module b"
	// keeps its order (b wins over a).
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "module" {
			name = "ctr-module"
		}
		return pflag.NormalizedName(name)
	})
	f.BoolVar(&o.noDefaults, "no-defaults", false, "do not apply default modules")
	f.BoolVar(&o.noEP, "no-ep", false, "do not run the image entrypoint")
	f.StringVar(&o.entrypoint, "entrypoint", "", "replace the image entrypoint (\"\": none)")
	f.StringVarP(&o.cwd, "cwd", "w", "", "working directory in the container")
	f.BoolVar(&o.writable, "writable", false, "a writable tmpfs layer over the image (changes are lost at exit)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the launch plan as JSON and run nothing")
	c.RegisterFlagCompletionFunc("ctr-module", completeModules(g))
	c.SetFlagErrorFunc(runFlagError)
	return c
}

const runLong = `Run a command in a container made from an image, as you.

IMAGE|TEMPLATE is a container template (see 'pcocc template list'), else an
image ([REPO:]NAME), else an image source (sif:x.sif, docker-archive:x.tar,
docker://REPO:TAG, ...): imported once into your cache of image sources
(see 'pcocc image cache list'), then run. The default modules apply unless --no-defaults, then the
template's, then those of -M; --env and --mount win over all of them. The
built-in template host-passthrough runs on the host's own root file system,
with the mounts and modules only (a command is then required).

pcocc's options may stand before or after the image name; from the command's
first word on, every word is the program's (pcocc run IMAGE -M m ls -l).
'--' ends pcocc's options (pcocc run IMAGE -- --opt-of-the-entrypoint).
Exit status: the program's (128+N if signal N killed it); 125 when pcocc could
not run it, 126 when the command is not executable, 127 when it is not found.
See docs/running.md.`

// runFlagError makes a bad option a pcocc run error (125, like docker run).
// An option before the command may have been meant for the entrypoint:
// say how to give it one.
func runFlagError(c *cobra.Command, err error) error {
	if h := foreignOptionHint(err); h != "" {
		return exitcode.Wrap(exitcode.Setup, fmt.Errorf("%w: %s", err, h))
	}
	return exitcode.Wrap(exitcode.Setup, fmt.Errorf("%w (the options before the command are pcocc's: see '%s --help'; to pass options to the image's entrypoint, put them after '--': %s IMAGE -- -OPT)", err, c.CommandPath(), c.CommandPath()))
}

// needTarget: run without an image is an error of pcocc run (125), as
// every failure to start the container.
func needTarget(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return exitcode.Wrap(exitcode.Setup, fmt.Errorf("no image or template named (%s IMAGE [CMD [ARGS...]]; images: '%s image list')", c.CommandPath(), c.Root().Name()))
	}
	return nil
}

func runRun(cmd *cobra.Command, g *Globals, o *runOptions, args []string) error {
	spec, err := planRun(cmd, g, o, args)
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
	code, err := runtime.Run(context.WithoutCancel(cmd.Context()), spec, runtime.Options{
		Stdin: asFile(g.Stdin, os.Stdin), Stdout: asFile(g.Stdout, os.Stdout), Stderr: asFile(g.Stderr, os.Stderr),
		Log: g.Log, Images: imageWork(),
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
func planRun(cmd *cobra.Command, g *Globals, o *runOptions, args []string) (*container.Spec, error) {
	cli, err := commandLineLayer(o)
	if err != nil {
		return nil, err
	}
	target, err := g.resolver().Target(cmd.Context(), args[0])
	if err != nil {
		return nil, err
	}
	layers, err := moduleLayers(cmd.Context(), g, o, target.Template)
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
	if cmd.Flags().Changed("entrypoint") {
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
