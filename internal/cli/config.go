package cli

import (
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/exitcode"
)

// config loads the configuration once per command.
func (g *Globals) config() *config.Config {
	if g.cfg == nil {
		g.cfg = config.Load(config.DefaultDirs(os.Getenv), os.Getenv, configOptions...)
	}
	return g.cfg
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

// warnOthers prints, as warnings, the configuration errors of the kinds a
// command does not need: a broken file must not stop an unrelated command.
func (g *Globals) warnOthers(need ...config.Kind) {
	for _, err := range g.config().Warnings(need...) {
		g.Log.Warn(err.Error())
	}
}

// loadRepoDefs returns the configured repositories, in search order; a
// broken repositories.yaml is a usage error.
func loadRepoDefs(g *Globals) ([]config.Repository, error) {
	cfg := g.config()
	repos, err := cfg.Repositories()
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	g.warnOthers(config.KindRepositories)
	g.noticeOnce(cfg.Notices())
	for _, r := range repos {
		if r.Name == config.UserRepo && r.Source == (config.Source{}) {
			// The built-in user repository lives under ~/.local/share, whose
			// parents may not exist yet on a new account.
			os.MkdirAll(filepath.Dir(r.Path), 0o755)
		}
	}
	return repos, nil
}
