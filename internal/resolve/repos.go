package resolve

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/repo"
)

// Repos is the configured repositories, in search order (the user one
// first), opened on first use. A repository this node cannot use is skipped
// by the commands that do not name it, with one warning per command (see
// config.Repository.Available).
type Repos struct {
	order  []string
	defs   map[string]config.Repository
	open   map[string]*repo.Repo
	failed map[string]error // why a repository is unavailable here
	warned map[string]bool
	warn   func(msg string)
}

// NewRepos returns the repositories defs, in their order; warn prints the
// warnings about unavailable ones.
func NewRepos(defs []config.Repository, warn func(msg string)) *Repos {
	s := &Repos{defs: map[string]config.Repository{}, open: map[string]*repo.Repo{},
		failed: map[string]error{}, warned: map[string]bool{}, warn: warn}
	for _, d := range defs {
		s.order = append(s.order, d.Name)
		s.defs[d.Name] = d
	}
	return s
}

// Names returns the repository names in search order.
func (s *Repos) Names() []string { return s.order }

// Def returns the definition of the repository called name.
func (s *Repos) Def(name string) config.Repository { return s.defs[name] }

// Get opens the repository called name (initialising it if needed); the
// error of an unavailable one is a *config.UnavailableError.
func (s *Repos) Get(name string) (*repo.Repo, error) {
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

// Existing returns the available repositories whose directory exists, in
// search order, without warning about the others: listing for completion
// or a suggestion must neither create a repository nor speak.
func (s *Repos) Existing() []*repo.Repo {
	var out []*repo.Repo
	for _, n := range s.order {
		if _, err := os.Stat(s.defs[n].Path); err != nil {
			continue
		}
		if r, err := s.Get(n); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// Skip warns, once per command, that a repository a command goes through
// without naming it is unavailable.
func (s *Repos) Skip(name string, err error) {
	if !s.warned[name] {
		s.warned[name] = true
		s.warn(err.Error())
	}
}

// WarnSkipped warns about every repository found unavailable so far.
func (s *Repos) WarnSkipped() {
	for _, n := range s.order {
		if err, ok := s.failed[n]; ok {
			s.Skip(n, err)
		}
	}
}

// Find returns the image a reference names: REPO:NAME in that repository, a
// bare NAME in the first available repository of the search order that has
// it. The repositories skipped on the way are warned about when the image
// is found, and named in the error when it is not: it may be in one of them.
func (s *Repos) Find(ref string) (*repo.Image, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, &RefError{Ref: ref, Err: err}
	}
	if r.Repo != "" {
		return s.FindIn(r.Repo, imageref.Ref{Name: r.Name, Revision: r.Revision})
	}
	var searched, skipped []string
	for _, n := range s.order {
		rp, err := s.Get(n)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		searched = append(searched, n)
		img, err := rp.GetRevision(r.Name, r.Revision)
		if err == nil {
			s.WarnSkipped()
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
	return nil, &NotFoundError{Ref: shown,
		msg: fmt.Sprintf("image %q not found in any repository (%s)", shown, strings.Join(parts, "; "))}
}

// FindIn returns the image ref names (its Repo ignored) in the repository called repoName.
func (s *Repos) FindIn(repoName string, ref imageref.Ref) (*repo.Image, error) {
	rp, err := s.Get(repoName)
	if err != nil {
		return nil, err
	}
	img, err := rp.GetRevision(ref.Name, ref.Revision)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return nil, &NotFoundError{Ref: ref.String(), Repo: repoName,
			msg: fmt.Sprintf("image %q not found in repository %q (see 'pcocc image list -r %s')", ref.String(), repoName, repoName)}
	case err != nil:
		return nil, err
	}
	return img, nil
}

// Dest returns the repository and name an import or copy writes to: a bare
// NAME goes to the user repository.
func (s *Repos) Dest(ref string) (*repo.Repo, string, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, "", &RefError{Ref: ref, Err: err}
	}
	if r.Revision != "" {
		return nil, "", &RefError{Ref: ref, Err: fmt.Errorf("%q: a revision (@%s) selects an existing revision; it cannot name a new image", ref, r.Revision)}
	}
	if r.Repo == "" {
		r.Repo = config.UserRepo
	}
	rp, err := s.Get(r.Repo)
	if err != nil {
		return nil, "", err
	}
	return rp, r.Name, nil
}
