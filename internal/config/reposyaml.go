//go:build !pcocc_launcher

package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/lazy"
)

// ReposFile is the original pcocc's repository file. It is read in every
// configuration directory, next to repositories.yaml, so that the
// repositories its users defined keep working (docs/migration.md):
//
//	repos:
//	  - name: NAME
//	    path: PATH        # %{homedir}, %{user}, %{env:VAR} are expanded
//	cache:                # the original's container cache: ignored
//	  path: PATH
const ReposFile = "repos.yaml"

// loadReposFiles decodes the repos.yaml of every directory. Its entries
// rank with the repositories.yaml of the same directory, so a name both
// define is an error that names both places (see merge).
func (c *Config) loadReposFiles(env func(string) string) ([]def[Repository], []error) {
	var defs []def[Repository]
	var errs []error
	for layer, dir := range c.dirs.layers() {
		f := filepath.Join(dir, ReposFile)
		c.rec.stat(f)
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		body, err := parseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := &decoder{file: f, dir: dir, env: env}
		found := d.decodeReposFile(body, layer)
		errs = append(errs, d.sortedErrs()...)
		if len(found) > 0 {
			c.notices = append(c.notices, Notice{File: f, Text: fmt.Sprintf(
				"%s (the original pcocc's file) is read too: its repositories (%s) are used as if defined in %s.yaml",
				f, defNames(found), KindRepositories)})
		}
		defs = append(defs, found...)
	}
	return defs, errs
}

func defNames(defs []def[Repository]) string {
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.name
	}
	return strings.Join(names, ", ")
}

func (d *decoder) decodeReposFile(root ast.Node, layer int) []def[Repository] {
	var out []def[Repository]
	d.fields(root, "", []string{"repos", "cache"}, func(k string, v ast.Node) {
		if k != "repos" {
			return
		}
		for _, item := range d.list(v, "", "repos") {
			if r, ok := d.reposEntry(item); ok {
				out = append(out, def[Repository]{name: r.Name, layer: layer, src: r.Source, val: r})
			}
		}
	})
	return out
}

// reposEntry decodes one {name, path} entry of repos.yaml.
func (d *decoder) reposEntry(item ast.Node) (Repository, bool) {
	const ctx = "repos entry"
	var nameNode, pathNode ast.Node
	var r Repository
	clean := d.fields(item, ctx, []string{"name", "path"}, func(k string, v ast.Node) {
		switch k {
		case "name":
			nameNode, r.Name = v, d.str(v, ctx, k)
		case "path":
			pathNode, r.Path = v, d.str(v, ctx, k)
		}
	})
	if nameNode == nil || pathNode == nil {
		if clean {
			d.errorf(item, ctx, "the keys \"name\" and \"path\" are both required")
		}
		return r, false
	}
	if err := imageref.ValidateRepo(r.Name); err != nil {
		d.wrapf(nameNode, ctx, err, "bad repository name")
		return r, false
	}
	r.Source = d.at(nameNode)
	ctxName := fmt.Sprintf("repository %q", r.Name)
	raw, err := originalTemplates(r.Path)
	if err != nil {
		d.wrapf(pathNode, ctxName, err, "path %q", r.Path)
		return r, false
	}
	return r, d.setRepoPath(&r, raw, pathNode, ctxName)
}

var originalTemplate = lazy.Regexp(`%\{([^}]*)\}`)

// originalTemplates turns the original's path templates into variables:
// %{homedir} is $HOME, %{user} is $USER, %{env:VAR} is $VAR. The others
// (cluster directories) mean nothing for a repository.
func originalTemplates(p string) (string, error) {
	var bad string
	out := originalTemplate().ReplaceAllStringFunc(p, func(m string) string {
		name := m[2 : len(m)-1]
		switch {
		case name == "homedir":
			return "${HOME}"
		case name == "user":
			return "${USER}"
		case strings.HasPrefix(name, "env:"):
			return "${" + strings.TrimPrefix(name, "env:") + "}"
		}
		bad = m
		return m
	})
	if bad != "" {
		return "", fmt.Errorf("%s cannot be expanded in a repository path", bad)
	}
	return out, nil
}
