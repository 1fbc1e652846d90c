package cli

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/namesum"
	"github.com/pcocc/pcocc/internal/unpack"
)

// config loads the configuration once per command: pcocc-cli parses the
// files (config_full.go), the launcher reads the snapshot pcocc-cli left
// (launcher.go).
func (g *Globals) config() *config.Config {
	if g.cfg == nil {
		g.cfg = loadConfig(g)
	}
	return g.cfg
}

// configSnapshot is where the launcher's snapshot of the configuration of
// dirs lives: the user's private directory /var/tmp/pcocc-UID/config on
// this node (unpack.UserDir: checked from "/" down, made when create is
// set), one file per set of configuration directories.
func configSnapshot(dirs config.Dirs, create bool) (string, error) {
	dir, err := unpack.UserDir("config", create)
	if err != nil {
		return "", err
	}
	key := namesum.Sum256([]byte(strings.Join(append([]string{dirs.System, dirs.User, dirs.UserRepo}, dirs.Path...), "\x00")))
	return filepath.Join(dir, hex.EncodeToString(key[:8])+".json"), nil
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
