// Package config finds pcocc's configuration directories, decodes their
// YAML files strictly (every error names file:line:col) and merges them by
// priority. It is the one configuration package every command uses; see
// docs/configuration.md for the rules users see.
package config

import (
	"errors"
	"slices"

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
}

// Load reads every configuration file of every kind in dirs, expanding
// variables with env (os.Getenv in commands). It never fails as a whole:
// errors are kept per kind and returned by the accessors.
func Load(dirs Dirs, env func(string) string, opts ...Option) *Config {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	c := &Config{dirs: dirs, errs: map[Kind][]error{}, env: env}
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
		errs = append(errs, eachFile(dir, k, env, func(d *decoder, root ast.Node) {
			d.check = o.envCheck
			decode(d, root, layer)
		})...)
	}
	return errs
}

// eachFile decodes every file of kind k in dir.
func eachFile(dir string, k Kind, env func(string) string, decode func(d *decoder, root ast.Node)) []error {
	files, err := kindFiles(dir, k)
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
