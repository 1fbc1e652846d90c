package cli

import (
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/config"
)

// config loads the configuration once per command.
func (g *Globals) config() *config.Config {
	if g.cfg == nil {
		g.cfg = config.Load(config.DefaultDirs(os.Getenv), os.Getenv, configOptions...)
	}
	return g.cfg
}

// configOptions are set by the packages that validate configuration entries
// (the env-spec parser), so that config errors come with file:line:col.
var configOptions []config.Option

// warnOthers prints, as warnings, the configuration errors of the kinds a
// command does not need: a broken file must not stop an unrelated command.
func (g *Globals) warnOthers(need ...config.Kind) {
	for _, err := range g.config().Warnings(need...) {
		g.Log.Warn(err.Error())
	}
}

func loadRepoDefs(g *Globals) ([]repoDef, error) {
	cfg := g.config()
	repos, err := cfg.Repositories()
	if err != nil {
		return nil, WithCode(ExitUsage, err)
	}
	g.warnOthers(config.KindRepositories)
	defs := make([]repoDef, 0, len(repos))
	for _, r := range repos {
		if r.Name == config.UserRepo && r.Source == (config.Source{}) {
			// The built-in user repository lives under ~/.local/share, whose
			// parents may not exist yet on a new account.
			os.MkdirAll(filepath.Dir(r.Path), 0o755)
		}
		defs = append(defs, repoDef{Name: r.Name, Path: r.Path, Description: r.Description, Source: r.Source.String()})
	}
	return defs, nil
}
