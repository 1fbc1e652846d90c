package cli

import (
	"io"
	"log/slog"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/resolve"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=...".
var Version = "0.1.0-dev"

// Globals are the options every command sees.
type Globals struct {
	Verbose bool
	Quiet   bool
	Stdout  io.Writer
	Stderr  io.Writer
	Stdin   io.Reader
	Log     *slog.Logger
	// Name is the name the program was called by (pcocc or pcocc-rs), for
	// message prefixes and hints.
	Name string

	cfg     *config.Config
	repoSet *resolve.Repos // the configured repositories, once loaded
	// launched: the command is one the launcher runs (run, __spank):
	// pcocc-cli then refreshes the launcher's configuration snapshot.
	launched bool
}

// progName is the name pcocc was called by, for messages: pcocc-rs, or
// pcocc whatever the file is called (pcocc-cli included).
func progName(argv0 string) string {
	if filepath.Base(argv0) == "pcocc-rs" {
		return "pcocc-rs"
	}
	return "pcocc"
}

func newLogger(g *Globals) *slog.Logger {
	level := slog.LevelWarn
	switch {
	case g.Quiet:
		level = slog.LevelError
	case g.Verbose:
		level = slog.LevelDebug
	}
	return slog.New(newLineHandler(g.Stderr, level, optName(g.Name, "pcocc")))
}
