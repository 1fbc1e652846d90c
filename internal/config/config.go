// Package config finds pcocc's configuration directories, decodes their
// YAML files strictly (every error names file:line:col) and merges them by
// priority. It is the one configuration package every command uses; see
// docs/configuration.md for the rules users see.
package config

import (
	"errors"
	"fmt"
	"slices"
)

// Config is the merged configuration. Each kind is loaded and checked on
// its own: a broken containers.yaml makes Modules and Templates fail but
// leaves Repositories working, so commands ask only for what they need and
// print the other kinds' errors as warnings (see Warnings).
type Config struct {
	dirs        Dirs
	repos       []Repository
	userMissing bool // no built-in user repository: no home directory
	modules     []Module
	templates   []Template
	errs        map[Kind][]error
	notices     []Notice
	env         func(string) string
	vm          *VMConfig // loaded by VM() on first use
	rec         *recorder // what Load read (WriteCache)
}

// Notice is something a command should tell the user once.
type Notice struct {
	File string // the file it is about
	Text string
}

// Notices returns what the configuration should tell the user (once each).
func (c *Config) Notices() []Notice { return c.notices }

// Dirs returns the directories the configuration was read from.
func (c *Config) Dirs() Dirs { return c.dirs }

// Err returns the errors of one kind joined, one per line (nil when all
// its files are valid).
func (c *Config) Err(k Kind) error { return errors.Join(c.errs[k]...) }

// Warnings returns, one by one, the errors of every kind not in need, for a
// command to print as warnings before going on with the kinds it needs.
func (c *Config) Warnings(need ...Kind) []error {
	var out []error
	for _, k := range kinds {
		if !slices.Contains(need, k) {
			out = append(out, c.errs[k]...)
		}
	}
	return out
}

// lookup finds name among items, or returns an error listing known names.
func lookup[T any](items []T, name, what string, nameOf func(T) string) (T, error) {
	var known []string
	for _, it := range items {
		if nameOf(it) == name {
			return it, nil
		}
		known = append(known, nameOf(it))
	}
	var zero T
	return zero, notFound(what, name, known)
}

// Repositories returns the repositories in search order for a bare image
// name (user, then user dir, PCOCC_CONFIG_PATH from last to first, system).
// On error the list holds what could be read; a command that needs
// repositories must stop. Without a home directory the built-in user
// repository is left out (Repository("user") explains why).
func (c *Config) Repositories() ([]Repository, error) {
	return c.repos, c.Err(KindRepositories)
}

// Repository returns the repository called name.
func (c *Config) Repository(name string) (Repository, error) {
	if err := c.Err(KindRepositories); err != nil {
		return Repository{}, err
	}
	r, err := lookup(c.repos, name, "repository", func(r Repository) string { return r.Name })
	if err != nil && name == UserRepo && c.userMissing {
		return r, fmt.Errorf("locating the %q repository: %w; set $HOME or $XDG_DATA_HOME, or define %q in repositories.yaml",
			UserRepo, ErrNoHome, UserRepo)
	}
	return r, err
}

// Modules returns every module, sorted by name.
func (c *Config) Modules() ([]Module, error) {
	return c.modules, c.Err(KindContainers)
}

// Module returns the module called name.
func (c *Config) Module(name string) (Module, error) {
	if err := c.Err(KindContainers); err != nil {
		return Module{}, err
	}
	return lookup(c.modules, name, "module", func(m Module) string { return m.Name })
}

// Templates returns every container template, sorted by name.
func (c *Config) Templates() ([]Template, error) {
	return c.templates, c.Err(KindContainers)
}

// Template returns the template called name; the error wraps ErrNotFound
// when there is none, so a caller can fall back to an image of that name.
func (c *Config) Template(name string) (Template, error) {
	if err := c.Err(KindContainers); err != nil {
		return Template{}, err
	}
	return lookup(c.templates, name, "template", func(t Template) string { return t.Name })
}

// TemplateModules resolves the modules a template names, in its order; an
// unknown one is an *Error at the place the template names it.
func (c *Config) TemplateModules(t Template) ([]Module, error) {
	var out []Module
	for _, ref := range t.Modules {
		m, err := c.Module(ref.Name)
		if err != nil {
			return nil, errorAt(ref.At, err, "template %q", t.Name)
		}
		out = append(out, m)
	}
	return out, nil
}
