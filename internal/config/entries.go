//go:build !pcocc_launcher

package config

import (
	"fmt"
	"path/filepath"

	"github.com/goccy/go-yaml/ast"
)

// envEntries decodes an "env:" list and runs the env-spec check, if any, on
// each entry so that a bad entry is reported at its own position.
func (d *decoder) envEntries(n ast.Node, ctx string) []EnvEntry {
	var out []EnvEntry
	for _, item := range d.list(n, ctx, "env") {
		item = d.resolve(item)
		if p, ok := item.(*ast.MappingNode); ok && len(p.Values) == 1 {
			// "- FOO: bar" is a common slip for "- FOO=bar".
			d.errorf(item, ctx, "env: expected a string such as \"%s=%s\", found a mapping",
				scalarText(p.Values[0].Key), scalarText(p.Values[0].Value))
			continue
		}
		spec := d.str(item, ctx, "env")
		if spec == "" {
			if !d.hasErrorAt(item) {
				d.errorf(item, ctx, "env: empty entry")
			}
			continue
		}
		if d.check != nil {
			if err := d.check(spec); err != nil {
				d.wrapf(item, ctx, err, "env entry %q", spec)
				continue
			}
		}
		out = append(out, EnvEntry{Spec: spec, At: d.at(item)})
	}
	return out
}

func (d *decoder) mounts(n ast.Node, ctx string) []Mount {
	var out []Mount
	for i, item := range d.list(n, ctx, "mounts") {
		if m, ok := d.mount(item, fmt.Sprintf("%s: mount %d", ctx, i+1)); ok {
			out = append(out, m)
		}
	}
	return out
}

func (d *decoder) mount(n ast.Node, ctx string) (Mount, bool) {
	m := Mount{Type: MountBind, At: d.at(n)}
	errs := len(d.errs)
	var src, dst ast.Node
	clean := d.fields(n, ctx, mountKeys, func(k string, v ast.Node) {
		switch k {
		case "source":
			src = v
		case "destination":
			dst = v
		case "readonly":
			m.Readonly = d.boolean(v, ctx, k)
		case "type":
			m.Type = d.mountType(v, ctx)
		case "optional":
			m.Optional = d.boolean(v, ctx, k)
		}
	})
	if src == nil {
		if clean {
			d.errorf(n, ctx, "missing key \"source\"")
		}
		return m, false
	}
	m.Source = d.mountPath(&m, src, ctx, "source")
	if dst != nil {
		m.Destination = d.mountPath(&m, dst, ctx, "destination")
	}
	return m, len(d.errs) == errs
}

func (d *decoder) mountType(n ast.Node, ctx string) string {
	t := d.str(n, ctx, "type")
	switch t {
	case MountBind, MountSquashfs:
		return t
	case "":
		return MountBind
	}
	d.errorf(n, ctx, "type: unknown mount type %q (expected %q or %q)", t, MountBind, MountSquashfs)
	return MountBind
}

// expandPath expands "~" and $VAR in the path raw read from n; it records
// the error and returns false when raw is empty or does not expand.
func (d *decoder) expandPath(n ast.Node, ctx, key, raw string) (expansion, bool) {
	if raw == "" {
		if !d.hasErrorAt(n) {
			d.errorf(n, ctx, "%s: empty path", key)
		}
		return expansion{}, false
	}
	x, err := expand(raw, d.env)
	if err != nil {
		d.wrapf(n, ctx, err, "%s %q", key, raw)
		return expansion{}, false
	}
	return x, true
}

// mountPath expands a source or destination. The result must be absolute,
// unless a variable was unset: that case is left to the container planner,
// which skips optional mounts and names the variable otherwise.
func (d *decoder) mountPath(m *Mount, n ast.Node, ctx, key string) string {
	raw := d.str(n, ctx, key)
	if key == "source" {
		m.Written = raw
	}
	x, ok := d.expandPath(n, ctx, key, raw)
	if !ok {
		return ""
	}
	m.Unset = append(m.Unset, x.unset...)
	if len(x.unset) == 0 && !filepath.IsAbs(x.value) {
		d.errorf(n, ctx, "%s %q: not an absolute path", key, x.value)
		return ""
	}
	if x.value == "" {
		return ""
	}
	return filepath.Clean(x.value)
}

// hasErrorAt reports whether the last error was already about n, to avoid
// a second message for the same value ("expected a string" + "empty").
func (d *decoder) hasErrorAt(n ast.Node) bool {
	if len(d.errs) == 0 {
		return false
	}
	last, ok := d.errs[len(d.errs)-1].(*Error)
	at := d.at(n)
	return ok && last.File == at.File && last.Line == at.Line && last.Col == at.Col
}
