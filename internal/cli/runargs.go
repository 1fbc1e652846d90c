package cli

import (
	"strings"

	"github.com/pcocc/pcocc/internal/slurm"
)

// The launcher's parser of `pcocc run`'s command line: cobra and pflag
// would cost every container start their initialisation (text/template,
// net, the command tree). It takes the forms people type (--opt=VAL,
// --opt VAL, -o VAL, -oVAL, -o=VAL, a boolean --opt or -o); anything else
// (help, an unknown option, a combined -vq, --opt=false, a quoted module
// list, a missing value or target) it declines, and the launcher hands the
// command line to the full program, whose cobra command says what is wrong
// or does it. Whatever it accepts it must read as that command does:
// TestRunArgsAsCobra compares the two on a table of command lines.

// runArgs is what a `pcocc run` command line says.
type runArgs struct {
	verbose, quiet bool
	opts           runOptions
	target         string
	program        []string
}

// runFlag is one of run's options: its long name, short letter, and where
// its value goes (nil for a boolean).
type runFlag struct {
	long, short string
	set         func(a *runArgs, v string) bool // false: declined
	boolean     func(a *runArgs)
}

func appendTo(field func(*runArgs) *[]string) func(*runArgs, string) bool {
	return func(a *runArgs, v string) bool {
		p := field(a)
		*p = append(*p, v)
		return true
	}
}

// runFlags mirror newRunCmd's flags and the root's -v/-q.
var runFlags = []runFlag{
	{long: "verbose", short: "v", boolean: func(a *runArgs) { a.verbose = true }},
	{long: "quiet", short: "q", boolean: func(a *runArgs) { a.quiet = true }},
	{long: "env", short: "e", set: appendTo(func(a *runArgs) *[]string { return &a.opts.env })},
	{long: "mount", set: appendTo(func(a *runArgs) *[]string { return &a.opts.mounts })},
	{long: "ctr-module", short: "M", set: setModules},
	{long: "module", set: setModules},
	{long: "no-defaults", boolean: func(a *runArgs) { a.opts.noDefaults = true }},
	{long: "no-ep", boolean: func(a *runArgs) { a.opts.noEP = true }},
	{long: "entrypoint", set: func(a *runArgs, v string) bool {
		a.opts.entrypoint, a.opts.entrypointSet = v, true
		return true
	}},
	{long: "cwd", short: "w", set: func(a *runArgs, v string) bool { a.opts.cwd = v; return true }},
	{long: "writable", boolean: func(a *runArgs) { a.opts.writable = true }},
	{long: "dry-run", boolean: func(a *runArgs) { a.opts.dryRun = true }},
}

// setModules splits a module list as pflag's string slice does (CSV),
// declining what CSV would read differently from a plain split.
func setModules(a *runArgs, v string) bool {
	if strings.ContainsAny(v, "\"\r\n") {
		return false
	}
	if v != "" {
		a.opts.modules = append(a.opts.modules, strings.Split(v, ",")...)
	}
	return true
}

// parseRunArgs reads argv (without argv[0]): global options, "run", then
// run's options, the target, run's options again, and the program from its
// first word on ("--" ends the options). ok false: declined (see above).
func parseRunArgs(argv []string) (a runArgs, ok bool) {
	rest, ok := a.options(argv, false)
	if !ok || len(rest) == 0 || rest[0] != "run" {
		return a, false
	}
	rest, dash, ok := a.runOptions(rest[1:])
	if !ok || len(rest) == 0 {
		return a, false
	}
	a.target, rest = rest[0], rest[1:]
	if !dash {
		if rest, _, ok = a.runOptions(rest); !ok {
			return a, false
		}
	}
	a.program = rest
	return a, true
}

// runOptions reads options up to the first word that is not one (left in
// rest) or "--" (consumed: dash).
func (a *runArgs) runOptions(argv []string) (rest []string, dash, ok bool) {
	rest, ok = a.options(argv, true)
	if ok && len(rest) > 0 && rest[0] == "--" {
		return rest[1:], true, true
	}
	return rest, false, ok
}

// options reads options (run's when run is set, else -v/-q only) until a
// word that is not one, which it leaves first in rest with what follows.
func (a *runArgs) options(argv []string, run bool) (rest []string, ok bool) {
	for len(argv) > 0 {
		w := argv[0]
		if w == "--" || len(w) < 2 || w[0] != '-' {
			return argv, true
		}
		f, value, hasValue, ok := a.lookup(w, run)
		if !ok {
			return nil, false
		}
		argv = argv[1:]
		if f.boolean != nil {
			if hasValue {
				return nil, false
			}
			f.boolean(a)
			continue
		}
		if !hasValue {
			if len(argv) == 0 {
				return nil, false
			}
			value, argv = argv[0], argv[1:]
		}
		if !f.set(a, value) {
			return nil, false
		}
	}
	return nil, true
}

// lookup finds the flag of word w (--name[=value], -x, -xVALUE, -x=VALUE).
func (a *runArgs) lookup(w string, run bool) (f runFlag, value string, hasValue, ok bool) {
	if name, ok := strings.CutPrefix(w, "--"); ok {
		name, value, hasValue = strings.Cut(name, "=")
		f, ok = findRunFlag(func(f runFlag) bool { return f.long == name }, run)
		return f, value, hasValue, ok
	}
	short, value := w[1:2], w[2:]
	f, ok = findRunFlag(func(f runFlag) bool { return f.short == short }, run)
	if !ok || value == "" {
		return f, "", false, ok
	}
	if f.boolean != nil { // -vq and the like: the full program's
		return f, "", false, false
	}
	return f, strings.TrimPrefix(value, "="), true, true
}

func findRunFlag(match func(runFlag) bool, run bool) (runFlag, bool) {
	for i, f := range runFlags {
		if i >= 2 && !run { // before "run": the global options only
			break
		}
		if match(f) {
			return f, true
		}
	}
	return runFlag{}, false
}

// spankOptions are the options the SPANK plugin gives `pcocc __spank VERB`,
// always as --name=value (spank/helper.c), and where each value goes.
var spankOptions = map[string]func(o *slurm.Options) *string{
	"--ctr":         func(o *slurm.Options) *string { return &o.Image },
	"--ctr-mount":   func(o *slurm.Options) *string { return &o.Mounts },
	"--ctr-module":  func(o *slurm.Options) *string { return &o.Modules },
	"--ctr-env":     func(o *slurm.Options) *string { return &o.Env },
	"--ctr-workdir": func(o *slurm.Options) *string { return &o.Workdir },
}

// parseSpankArgs reads `__spank check|start` and the plugin's options (and
// start's --kernel-tree), in
// the form the plugin writes them; anything else it declines (ok false),
// for the full program's cobra command.
func parseSpankArgs(argv []string) (verb string, o slurm.Options, ok bool) {
	if len(argv) < 2 || argv[0] != "__spank" || (argv[1] != "check" && argv[1] != "start") {
		return "", o, false
	}
	for _, w := range argv[2:] {
		if w == "--ctr-no-defaults" {
			o.NoDefaults = true
			continue
		}
		name, value, hasValue := strings.Cut(w, "=")
		if name == "--kernel-tree" && argv[1] == "start" && hasValue {
			o.KernelTree = value
			continue
		}
		field, known := spankOptions[name]
		if !known || !hasValue {
			return "", o, false
		}
		*field(&o) = value
	}
	return argv[1], o, true
}
