package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/repo"
)

// repoSet is the configured repositories, in search order (user first),
// opened on first use. A repository this node cannot use is skipped by
// the commands that do not name it, with one warning per command (see
// config.Repository.Available).
type repoSet struct {
	order  []string
	defs   map[string]config.Repository
	open   map[string]*repo.Repo
	failed map[string]error // why a repository is unavailable here
	warned map[string]bool
	warn   func(msg string)
}

// repos returns the command's repositories, loaded once so that each
// unavailable one is warned about once.
func (g *Globals) repos() (*repoSet, error) {
	if g.repoSet != nil {
		return g.repoSet, nil
	}
	defs, err := loadRepoDefs(g)
	if err != nil {
		return nil, err
	}
	s := &repoSet{defs: map[string]config.Repository{}, open: map[string]*repo.Repo{},
		failed: map[string]error{}, warned: map[string]bool{}, warn: func(msg string) { g.Log.Warn(msg) }}
	for _, d := range defs {
		s.order = append(s.order, d.Name)
		s.defs[d.Name] = d
	}
	g.repoSet = s
	return s, nil
}

// findImage loads the configured repositories and finds an image in them.
func (g *Globals) findImage(ref string) (*repo.Image, error) {
	set, err := g.repos()
	if err != nil {
		return nil, err
	}
	return set.find(ref)
}

// get opens the repository called name (initialising it if needed); the
// error of an unavailable one is a *config.UnavailableError.
func (s *repoSet) get(name string) (*repo.Repo, error) {
	if r, ok := s.open[name]; ok {
		return r, nil
	}
	if err, ok := s.failed[name]; ok {
		return nil, err
	}
	d, ok := s.defs[name]
	if !ok {
		return nil, fmt.Errorf("unknown repository %q (known: %s)", name, strings.Join(s.order, ", "))
	}
	r, err := openRepo(d)
	if err != nil {
		s.failed[name] = err
		return nil, err
	}
	// Not cleaned here: readers (run, list, show) must not delete anything
	// nor take the exclusive lock; the leftovers of a killed command go with
	// the next command that changes the repository (repo.Tx, Repo.Delete).
	s.open[name] = r
	return r, nil
}

// openRepo opens a configured repository if this node can reach it.
func openRepo(d config.Repository) (*repo.Repo, error) {
	if err := d.Available(); err != nil {
		return nil, err
	}
	r, err := repo.Open(d.Name, d.Path)
	if err != nil {
		return nil, d.Unavailable(err)
	}
	return r, nil
}

// skip warns, once per command, that a repository a command goes through
// without naming it is unavailable.
func (s *repoSet) skip(name string, err error) {
	if !s.warned[name] {
		s.warned[name] = true
		s.warn(err.Error())
	}
}

// warnSkipped warns about every repository found unavailable so far.
func (s *repoSet) warnSkipped() {
	for _, n := range s.order {
		if err, ok := s.failed[n]; ok {
			s.skip(n, err)
		}
	}
}

// find returns the image a reference names: REPO:NAME in that repository, a
// bare NAME in the first available repository of the search order that has
// it. The repositories skipped on the way are warned about when the image
// is found, and named in the error when it is not: it may be in one of them.
func (s *repoSet) find(ref string) (*repo.Image, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if r.Repo != "" {
		return s.findIn(r.Repo, imageref.Ref{Name: r.Name, Revision: r.Revision})
	}
	var searched, skipped []string
	for _, n := range s.order {
		rp, err := s.get(n)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		searched = append(searched, n)
		img, err := rp.GetRevision(r.Name, r.Revision)
		if err == nil {
			s.warnSkipped()
			return img, nil
		}
		if !errors.Is(err, repo.ErrNotFound) {
			return nil, err
		}
	}
	parts := []string{"searched " + strings.Join(searched, ", ")}
	if len(searched) == 0 {
		parts[0] = "no repository is available here"
	}
	parts = append(append(parts, skipped...), "see 'pcocc image list'")
	shown := imageref.Ref{Name: r.Name, Revision: r.Revision}.String()
	return nil, fmt.Errorf("image %q not found in any repository (%s)", shown, strings.Join(parts, "; "))
}

// findIn returns the image ref names (its Repo ignored) in the repository called repoName.
func (s *repoSet) findIn(repoName string, ref imageref.Ref) (*repo.Image, error) {
	rp, err := s.get(repoName)
	if err != nil {
		return nil, err
	}
	img, err := rp.GetRevision(ref.Name, ref.Revision)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return nil, fmt.Errorf("image %q not found in repository %q (see 'pcocc image list -r %s')", ref.String(), repoName, repoName)
	case err != nil:
		return nil, err
	}
	return img, nil
}

// dest returns the repository and name an import or copy writes to: a bare
// NAME goes to the user repository.
func (s *repoSet) dest(ref string) (*repo.Repo, string, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, "", usageError("%v", err)
	}
	if r.Revision != "" {
		return nil, "", usageError("%q: a revision (@%s) selects an existing revision; it cannot name a new image", ref, r.Revision)
	}
	if r.Repo == "" {
		r.Repo = "user"
	}
	rp, err := s.get(r.Repo)
	if err != nil {
		return nil, "", err
	}
	return rp, r.Name, nil
}
