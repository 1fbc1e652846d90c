package config

import (
	"fmt"
	"sort"

	"github.com/goccy/go-yaml/ast"
)

// builtinUser is the built-in user repository, defined below every layer so
// that any configuration file may move it.
func (c *Config) builtinUser() []def[Repository] {
	if c.dirs.UserRepo == "" {
		return nil
	}
	r := Repository{Name: UserRepo, Path: c.dirs.UserRepo, Description: "Your own images"}
	return []def[Repository]{{name: UserRepo, layer: -1, val: r}}
}

func (c *Config) loadRepositories(env func(string) string) {
	defs := c.builtinUser()
	errs := c.forEachFile(KindRepositories, env, options{}, func(d *decoder, root ast.Node, layer int) {
		defs = append(defs, d.decodeRepositories(root, layer)...)
	})
	legacy, lerrs := c.loadReposFiles(env)
	defs, errs = append(defs, legacy...), append(errs, lerrs...)
	// merge wants definitions by layer; repos.yaml ranks after the
	// repositories.yaml of its directory.
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].layer < defs[j].layer })
	winners, merr := merge(defs, "repository")
	errs = append(errs, merr...)
	// Whether each repository can be reached is checked when a command uses
	// it (Repository.Available): a file system missing on this node must
	// not stop the commands that do not need it.
	c.repos = searchOrder(winners)
	c.userMissing = c.dirs.UserRepo == ""
	c.errs[KindRepositories] = errs
}

func (c *Config) loadContainers(env func(string) string, o options) {
	all := containerDefs{modules: builtinModules(env), templates: builtinTemplates()}
	errs := c.forEachFile(KindContainers, env, o, func(d *decoder, root ast.Node, layer int) {
		cd := d.decodeContainers(root, layer)
		all.modules = append(all.modules, cd.modules...)
		all.templates = append(all.templates, cd.templates...)
	})
	mods, merr := merge(all.modules, "module")
	errs = append(errs, merr...)
	tpls, terr := merge(all.templates, "template")
	errs = append(errs, terr...)
	c.modules = sortedVals(mods, func(m Module) string { return m.Name })
	c.templates = sortedVals(tpls, func(t Template) string { return t.Name })
	c.errs[KindContainers] = errs
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
