//go:build !pcocc_launcher

package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcocc/pcocc/internal/exitcode"
)

func newRunCmd(g *Globals) *cobra.Command { return runCommand(g, runRun) }

// runCommand is the run command calling run (runRun; tests compare the
// launcher's parser with what this one passes).
func runCommand(g *Globals, run func(context.Context, *Globals, *runOptions, []string) error) *cobra.Command {
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
			o.entrypointSet = cmd.Flags().Changed("entrypoint")
			return run(cmd.Context(), g, o, append([]string{target}, program...))
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
