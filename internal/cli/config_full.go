//go:build !pcocc_launcher

package cli

import (
	"os"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/envspec"
)

// loadConfig parses the configuration files. For the commands the launcher
// runs (which come here when it found no up-to-date snapshot), the snapshot
// is then written for the launcher's next start; a failure to write it only
// costs the next start the same handover.
func loadConfig(g *Globals) *config.Config {
	dirs := config.DefaultDirs(os.Getenv)
	cfg := config.Load(dirs, os.Getenv, configOptions...)
	if g.launched {
		if file, err := configSnapshot(dirs, true); err == nil {
			if _, err := config.LoadCache(file, dirs, os.Getenv); err != nil {
				_ = cfg.WriteCache(file)
			}
		}
	}
	return cfg
}

// configOptions plug the env-spec parser into the loader, so that a bad env
// entry of a module or template is reported at its file:line:col.
var configOptions = []config.Option{config.WithEnvCheck(checkEnvEntry)}

// checkEnvEntry checks an entry's syntax, and the syntax of the variables
// its value uses ("${HOME" is an error now, not at some launch).
func checkEnvEntry(entry string) error {
	s, err := envspec.Parse(entry)
	if err != nil {
		return err
	}
	_, _, err = config.Expand(s.Value, func(string) string { return "x" })
	return err
}
