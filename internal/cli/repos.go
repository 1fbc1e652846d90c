package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/repo"
)

// repoSet is the configured repositories, in search order (user first).
type repoSet struct {
	order []string
	defs  map[string]repoDef
	open  map[string]*repo.Repo
}

type repoDef struct {
	Name, Path, Description, Source string
}

func (g *Globals) repos() (*repoSet, error) {
	defs, err := loadRepoDefs(g)
	if err != nil {
		return nil, err
	}
	s := &repoSet{defs: map[string]repoDef{}, open: map[string]*repo.Repo{}}
	for _, d := range defs {
		s.order = append(s.order, d.Name)
		s.defs[d.Name] = d
	}
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

// get opens the repository called name (initialising it if needed).
func (s *repoSet) get(name string) (*repo.Repo, error) {
	if r, ok := s.open[name]; ok {
		return r, nil
	}
	d, ok := s.defs[name]
	if !ok {
		return nil, fmt.Errorf("unknown repository %q (known: %s)", name, strings.Join(s.order, ", "))
	}
	r, err := repo.Open(d.Name, d.Path)
	if err != nil {
		return nil, err
	}
	// Not cleaned here: readers (run, list, show) must not delete anything
	// nor take the exclusive lock; the leftovers of a killed command go with
	// the next command that changes the repository (repo.Tx, Repo.Delete).
	s.open[name] = r
	return r, nil
}

// find returns the image a reference names: REPO:NAME in that repository, a
// bare NAME in the first repository of the search order that has it.
func (s *repoSet) find(ref string) (*repo.Image, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, usageError("%v", err)
	}
	names := s.order
	if r.Repo != "" {
		names = []string{r.Repo}
	}
	for _, n := range names {
		rp, err := s.get(n)
		if err != nil {
			if r.Repo != "" {
				return nil, err
			}
			continue // a broken repository must not hide the others
		}
		img, err := rp.Get(r.Name)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, repo.ErrNotFound) {
			return nil, err
		}
	}
	if r.Repo != "" {
		return nil, fmt.Errorf("image %q not found in repository %q (see 'pcocc image list -r %s')", r.Name, r.Repo, r.Repo)
	}
	return nil, fmt.Errorf("image %q not found in any repository (searched %s; see 'pcocc image list')", r.Name, strings.Join(names, ", "))
}

// dest returns the repository and name an import or copy writes to: a bare
// NAME goes to the user repository.
func (s *repoSet) dest(ref string) (*repo.Repo, string, error) {
	r, err := imageref.Parse(ref)
	if err != nil {
		return nil, "", usageError("%v", err)
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
