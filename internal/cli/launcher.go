//go:build pcocc_launcher

package cli

import (
	"context"
	"os"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/resolve"
	"github.com/pcocc/pcocc/internal/runtime"
)

// The launcher: pcocc as installed in PREFIX/bin, built with the tag
// pcocc_launcher. Every package a program links is initialised at each of
// its starts, and `pcocc run` starts at every container launch: so the
// launcher has only the run command and links only what a launch uses (no
// image formats, registry client, FUSE server nor decompressor). Whatever
// else is asked of it, it hands over, arguments unchanged, to the full
// program, pcocc-image (this package without the tag), by replacing itself
// with it: before it printed or did anything, so the user sees one program.
// docs/architecture.md, "Start", says why and what each costs.

// fullProgramName is the program with all of pcocc's commands.
const fullProgramName = "pcocc-image"

// addCommands gives the launcher the run command only; help of any kind is
// the full program's.
func addCommands(root *cobra.Command, g *Globals) {
	root.AddCommand(newRunCmd(g))
	root.SetHelpFunc(func(*cobra.Command, []string) { execFull() })
}

// Launches tells whether the launcher runs argv itself: `run`, after
// pcocc's global options. Anything else (other commands, completion,
// --version, no command) is the full program's.
func Launches(argv []string) bool {
	for _, a := range argv[1:] {
		switch a {
		case "-v", "--verbose", "-q", "--quiet", "-vq", "-qv":
			continue
		}
		return a == "run"
	}
	return false
}

// execFull replaces the launcher by the full program with the same
// arguments; it returns only if that fails, exiting with the reason.
func execFull() {
	prog, err := libexecProgram(fullProgramName)
	if err == nil {
		err = syscall.Exec(prog, os.Args, os.Environ())
	}
	os.Stderr.WriteString(calledName() + ": " + err.Error() + "\n")
	os.Exit(exitcode.Of(exitcode.Wrap(exitcode.Failure, err)))
}

// HandOff replaces the launcher by the full program unless it Launches
// argv.
func HandOff(argv []string) {
	if !Launches(argv) {
		execFull()
	}
}

func calledName() string {
	if len(os.Args) > 0 && strings.HasSuffix(os.Args[0], "pcocc-rs") {
		return "pcocc-rs"
	}
	return "pcocc"
}

// runSourceRef hands a transport reference (NAME:... where NAME is no
// configured repository) to the full program, which imports it into the
// cache of sources and runs it: nothing was printed nor done yet (the
// resolver tries sources first).
func runSourceRef(_ context.Context, _ *Globals, cfg *config.Config, target string) (*resolve.Image, bool, error) {
	prefix, _, ok := strings.Cut(target, ":")
	if !ok {
		return nil, false, nil
	}
	if _, err := cfg.Repository(prefix); err == nil {
		return nil, false, nil
	}
	execFull()
	return nil, false, nil
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
// started only when a launch needs them (images.go).
func imageWork() runtime.Images { return childImages{} }
