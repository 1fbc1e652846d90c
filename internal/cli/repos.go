package cli

import (
	"context"
	"os"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/resolve"
)

// repos returns the command's repositories, loaded once so that each
// unavailable one is warned about once.
func (g *Globals) repos() (*resolve.Repos, error) {
	if g.repoSet != nil {
		return g.repoSet, nil
	}
	defs, err := loadRepoDefs(g)
	if err != nil {
		return nil, err
	}
	g.repoSet = resolve.NewRepos(defs, func(msg string) { g.Log.Warn(msg) })
	return g.repoSet, nil
}

// findImage loads the configured repositories and finds an image in them.
func (g *Globals) findImage(ref string) (*repo.Image, error) {
	set, err := g.repos()
	if err != nil {
		return nil, err
	}
	return set.Find(ref)
}

// resolver resolves the command's names: the configured repositories and
// templates, and transport references through the cache of sources.
func (g *Globals) resolver() *resolve.Resolver {
	cfg := g.config()
	return &resolve.Resolver{
		Config: cfg,
		Repos:  g.repos,
		Source: func(ctx context.Context, ref string) (*resolve.Image, bool, error) {
			return runSourceRef(ctx, g, cfg, ref)
		},
		Hint: sourceHint,
	}
}

// FindImage finds a user's image name, [REPO:]NAME, in the repositories of
// the default configuration, as 'pcocc image show' does; warnings about
// unavailable repositories go to stderr. A bad name is a *resolve.RefError
// (exitcode.Of: exitcode.Usage), an unknown one errors.Is(err, repo.ErrNotFound).
func FindImage(ref string) (*repo.Image, error) {
	g := &Globals{Stdout: os.Stdout, Stderr: os.Stderr, Name: "pcocc"}
	g.Log = newLogger(g)
	return g.findImage(ref)
}

// userRepoOr returns the repository named by a command's optional argument,
// the user repository without one.
func userRepoOr(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return config.UserRepo
}
