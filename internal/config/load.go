//go:build !pcocc_launcher

package config

import (
	"sort"

	"github.com/goccy/go-yaml/ast"
)

// Option configures Load.
type Option func(*options)

type options struct {
	envCheck func(string) error
}

// WithEnvCheck validates each env entry of modules and templates (the
// env-spec parser); a failure is reported at the entry's position.
func WithEnvCheck(check func(entry string) error) Option {
	return func(o *options) { o.envCheck = check }
}

// Load reads every configuration file of every kind in dirs, expanding
// variables with env (os.Getenv in commands). It never fails as a whole:
// errors are kept per kind and returned by the accessors.
func Load(dirs Dirs, env func(string) string, opts ...Option) *Config {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := &Config{dirs: dirs, errs: map[Kind][]error{}, env: env, rec: &recorder{}}
	env = c.rec.lookup(env)
	c.loadRepositories(env)
	c.loadContainers(env, o)
	return c
}

// forEachFile decodes every file of kind k, lowest priority first, and
// returns the read and decode errors.
func (c *Config) forEachFile(k Kind, env func(string) string, o options,
	decode func(d *decoder, root ast.Node, layer int)) []error {
	var errs []error
	for layer, dir := range c.dirs.layers() {
		errs = append(errs, eachFile(c.rec, dir, k, env, func(d *decoder, root ast.Node) {
			d.check = o.envCheck
			decode(d, root, layer)
		})...)
	}
	return errs
}

// eachFile decodes every file of kind k in dir.
// rec (nil: none) notes the files looked at.
func eachFile(rec *recorder, dir string, k Kind, env func(string) string, decode func(d *decoder, root ast.Node)) []error {
	files, err := kindFiles(dir, k, rec)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, f := range files {
		body, err := parseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := &decoder{file: f, dir: dir, env: env}
		decode(d, body)
		errs = append(errs, d.sortedErrs()...)
	}
	return errs
}

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
