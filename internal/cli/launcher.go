//go:build pcocc_launcher

package cli

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/resolve"
	"github.com/pcocc/pcocc/internal/runtime"
)

// The launcher: pcocc as installed in PREFIX/bin, built with the tag
// pcocc_launcher. Every package a program links is initialised at each of
// its starts, and `pcocc run` starts at every container launch: so the
// launcher has only the run command (and the SPANK plugin's __spank check
// and start) and links only what a launch uses (no image formats, registry
// client, FUSE server, decompressor nor cobra). Whatever
// else is asked of it, it hands over, arguments unchanged, to the full
// program, pcocc-cli (this package without the tag), by replacing itself
// with it: before it printed or did anything, so the user sees one program.
// docs/architecture.md, "Start", says why and what each costs.

// fullProgramName is the program with all of pcocc's commands.
const fullProgramName = "pcocc-cli"

// Main runs `pcocc run` when parseRunArgs takes argv, the SPANK plugin's
// `__spank check|start` when parseSpankArgs does, and otherwise replaces the
// launcher by the full program. (No cobra here: see
// runargs.go.)
func Main(argv []string) int {
	if code, ok := RunInternal(argv); ok {
		return code
	}
	g := &Globals{Stdout: os.Stdout, Stderr: os.Stderr, Stdin: os.Stdin, Name: progName(argv[0])}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if verb, o, ok := parseSpankArgs(argv[1:]); ok { // the SPANK plugin's helper
		g.Log = newLogger(g)
		return report(g.Name, runSpank(ctx, g, verb, &o))
	}
	a, ok := parseRunArgs(argv[1:])
	if !ok {
		execFull()
	}
	g.Verbose, g.Quiet = a.verbose, a.quiet
	g.Log = newLogger(g)
	return report(g.Name, runRun(ctx, g, &a.opts, append([]string{a.target}, a.program...)))
}

// execFull replaces the launcher by the full program with the same
// arguments; it returns only if that fails, exiting with the reason.
func execFull() {
	for _, fd := range pluginFDs {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
	}
	prog, err := libexecProgram(fullProgramName)
	if err == nil {
		err = syscall.Exec(prog, os.Args, os.Environ())
	}
	os.Stderr.WriteString(progName(os.Args[0]) + ": " + err.Error() + "\n")
	os.Exit(exitcode.Of(exitcode.Wrap(exitcode.Failure, err)))
}

// loadConfig reads the snapshot of the configuration that pcocc-cli wrote
// (config.LoadCache): the launcher links no YAML parser. A missing or
// out-of-date snapshot hands the command to pcocc-cli, which parses the
// files, reports their errors, and writes the snapshot again.
func loadConfig(*Globals) *config.Config {
	dirs := config.DefaultDirs(os.Getenv)
	file, err := configSnapshot(dirs, false)
	if err != nil {
		execFull()
	}
	cfg, err := config.LoadCache(file, dirs, os.Getenv)
	if err != nil {
		execFull()
	}
	return cfg
}

// runSourceRef hands a transport reference to the full program, which
// imports it into the cache of sources and runs it: nothing was printed
// nor done yet (the resolver tries sources first).
func runSourceRef(_ context.Context, _ *Globals, cfg *config.Config, target string) (*resolve.Image, bool, error) {
	if isSourceRef(cfg, target) {
		execFull()
	}
	return nil, false, nil
}

// spankSource hands a transport reference given to srun --ctr to the full
// program, which refuses it with the way to import it (errSpankSource).
func spankSource(cfg *config.Config, image string) error {
	if isSourceRef(cfg, image) {
		execFull()
	}
	return nil
}

// isSourceRef: NAME:... where NAME is no configured repository; the full
// program tells a transport from a mistake.
func isSourceRef(cfg *config.Config, target string) bool {
	prefix, _, ok := strings.Cut(target, ":")
	if !ok {
		return false
	}
	_, err := cfg.Repository(prefix)
	return err != nil
}

// sourceHint: a target that is not found, and would get a hint about image
// files or volumes, goes to the full program, which gives it.
func sourceHint(target string) error {
	if mountSpecHint(target) != "" || looksLikeFile(target) {
		execFull()
	}
	return nil
}

// imageWork serves and unpacks images in processes of the full program,
// started only when a launch needs them (images_child.go).
func imageWork() runtime.Images { return childImages{} }

// sqfuseProgram serves init's own squashfs mounts (modules', --mount
// type=squashfs): the full program, named here, before init's scratch
// mounts may cover the directory where pcocc is installed (a launcher
// exec'd there through /proc/self/fd could not find it). "": not installed,
// init's mounts fail with the launcher's message.
func sqfuseProgram() string {
	p, err := libexecProgram(fullProgramName)
	if err != nil {
		return ""
	}
	return p
}

// legacyConfig marks a repository of the original pcocc (internal/legacyrepo's
// configFile). That package reads such repositories and links the image
// formats: the launcher hands any run that opens one to the full program.
const legacyConfig = ".config"

func init() { repo.ForeignFormats = append(repo.ForeignFormats, handOffLegacy) }

func handOffLegacy(path string) (repo.Foreign, error) {
	if _, err := os.Lstat(filepath.Join(path, legacyConfig)); err == nil {
		execFull()
	}
	return nil, nil
}
