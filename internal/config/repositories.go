//go:build !pcocc_launcher

package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/pcocc/pcocc/internal/imageref"
)

var repositoryKeys = []string{"path", "description", "keep_layers", "mount"}

// decodeRepositories reads the "repositories:" mapping of one file.
func (d *decoder) decodeRepositories(root ast.Node, layer int) []def[Repository] {
	var out []def[Repository]
	d.fields(root, "", []string{"repositories"}, func(_ string, v ast.Node) {
		for _, p := range d.pairs(v, "repositories", "a mapping of repository names") {
			if r, ok := d.repository(p); ok {
				out = append(out, def[Repository]{name: r.Name, layer: layer, src: r.Source, val: r})
			}
		}
	})
	return out
}

func (d *decoder) repository(p *ast.MappingValueNode) (Repository, bool) {
	name, ok := d.key(p, "repositories")
	if !ok {
		return Repository{}, false
	}
	r := Repository{Name: name, Source: d.at(p.Key)}
	ctx := fmt.Sprintf("repository %q", name)
	if err := imageref.ValidateRepo(name); err != nil {
		d.wrapf(p.Key, "", err, "bad repository name")
		return r, false
	}
	var pathNode ast.Node
	clean := d.fields(p.Value, ctx, repositoryKeys, func(k string, v ast.Node) {
		switch k {
		case "path":
			pathNode = v
			r.Path = d.str(v, ctx, k)
		case "description":
			r.Description = d.str(v, ctx, k)
		case "keep_layers": // null (no value) keeps the default: keep them
			r.DropLayers = !isNull(d.resolve(v)) && !d.boolean(v, ctx, k)
		case "mount":
			r.Mount = d.str(v, ctx, k)
			if r.Mount != "" && !slices.Contains(RepoMounts, r.Mount) {
				d.errorf(v, ctx, "mount: unknown value %q (expected one of: %s)", r.Mount, strings.Join(RepoMounts, ", "))
				r.Mount = ""
			}
		}
	})
	if pathNode == nil {
		if clean {
			d.errorf(p.Key, ctx, "missing key \"path\"")
		}
		return r, false
	}
	return r, d.setRepoPath(&r, r.Path, pathNode, ctx)
}

// setRepoPath expands raw, the path written at node, into r.Path; a variable
// unset on this node makes r unavailable here (r.pathErr), not an error.
func (d *decoder) setRepoPath(r *Repository, raw string, node ast.Node, ctx string) bool {
	path, unset, err := repoPath(raw, d.env)
	switch {
	case unset != nil:
		r.pathErr = fmt.Errorf("path %q: %w", r.Path, unset)
	case err != nil:
		d.wrapf(node, ctx, err, "path %q", r.Path)
		return false
	default:
		r.Path = path
	}
	return true
}

// repoPath expands a repository path and insists on an absolute result.
// A variable unset on this node (or no home directory for "~") is returned
// as unset, not as an error: the repository is then unavailable here, and
// never silently moved (e.g. "$PROJECT/images" to "/images"). A relative
// path is an error: it would depend on the directory the command runs in.
func repoPath(raw string, env func(string) string) (path string, unset, err error) {
	x, err := expand(raw, env)
	switch {
	case errors.Is(err, ErrNoHome):
		return "", err, nil
	case err != nil:
		return "", nil, err
	case len(x.unset) > 0:
		return "", fmt.Errorf("$%s is not set", strings.Join(x.unset, ", $")), nil
	case x.value == "":
		return "", nil, errors.New("empty path")
	case !filepath.IsAbs(x.value):
		return "", nil, errors.New("not an absolute path")
	}
	return filepath.Clean(x.value), nil, nil
}

// searchOrder puts the winning definitions in the order a bare image name
// is searched: user first, then by layer from the highest priority down,
// and within a layer in definition order.
func searchOrder(defs []def[Repository]) []Repository {
	var out []Repository
	for _, d := range defs {
		if d.name == UserRepo {
			out = append(out, d.val)
		}
	}
	maxLayer := 0
	for _, d := range defs {
		maxLayer = max(maxLayer, d.layer)
	}
	for l := maxLayer; l >= 0; l-- {
		for _, d := range defs {
			if d.layer == l && d.name != UserRepo {
				out = append(out, d.val)
			}
		}
	}
	return out
}
