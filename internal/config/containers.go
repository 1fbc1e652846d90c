//go:build !pcocc_launcher

package config

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"

	"github.com/pcocc/pcocc/internal/imageref"
)

var (
	moduleKeys   = []string{"description", "default", "mounts", "env", "generator", "generator_timeout"}
	templateKeys = []string{"rootfs", "no_defaults", "modules", "env", "mounts", "description"}
	mountKeys    = []string{"source", "destination", "readonly", "type", "optional"}
)

// containerDefs are the definitions one containers file holds.
type containerDefs struct {
	modules   []def[Module]
	templates []def[Template]
}

func (d *decoder) decodeContainers(root ast.Node, layer int) containerDefs {
	var out containerDefs
	d.fields(root, "", []string{"modules", "containers"}, func(k string, v ast.Node) {
		if k == "modules" {
			out.modules = append(out.modules, d.modules(v, layer)...)
		} else {
			out.templates = append(out.templates, d.templates(v, layer)...)
		}
	})
	return out
}

func (d *decoder) modules(n ast.Node, layer int) []def[Module] {
	var out []def[Module]
	for _, p := range d.pairs(n, "modules", "a mapping of module names") {
		if m, ok := d.module(p); ok {
			out = append(out, def[Module]{name: m.Name, layer: layer, src: m.Source, val: m})
		}
	}
	return out
}

func (d *decoder) templates(n ast.Node, layer int) []def[Template] {
	var out []def[Template]
	for _, p := range d.pairs(n, "containers", "a mapping of template names") {
		if t, ok := d.template(p); ok {
			out = append(out, def[Template]{name: t.Name, layer: layer, src: t.Source, val: t})
		}
	}
	return out
}

// defName reads and validates the name of a module or template. Both share
// the image-name rules: a template name is used where an image name is.
func (d *decoder) defName(p *ast.MappingValueNode, section, what string) (string, bool) {
	name, ok := d.key(p, section)
	if !ok {
		return "", false
	}
	if err := imageref.ValidateName(name); err != nil {
		d.wrapf(p.Key, "", err, "bad %s name", what)
		return "", false
	}
	return name, true
}

func (d *decoder) module(p *ast.MappingValueNode) (Module, bool) {
	name, ok := d.defName(p, "modules", "module")
	if !ok {
		return Module{}, false
	}
	m := Module{Name: name, Dir: d.dir, Source: d.at(p.Key)}
	ctx := fmt.Sprintf("module %q", name)
	n := len(d.errs)
	d.fields(p.Value, ctx, moduleKeys, func(k string, v ast.Node) {
		switch k {
		case "description":
			m.Description = d.str(v, ctx, k)
		case "default":
			m.Default = d.boolean(v, ctx, k)
		case "mounts":
			m.Mounts = d.mounts(v, ctx)
		case "env":
			m.Env = d.envEntries(v, ctx)
		case "generator":
			m.Generator = d.generator(v, ctx)
		case "generator_timeout":
			m.GeneratorTimeout = d.duration(v, ctx, k)
		}
	})
	return m, len(d.errs) == n
}

func (d *decoder) template(p *ast.MappingValueNode) (Template, bool) {
	name, ok := d.defName(p, "containers", "template")
	if !ok {
		return Template{}, false
	}
	t := Template{Name: name, Source: d.at(p.Key)}
	ctx := fmt.Sprintf("template %q", name)
	n := len(d.errs)
	var rootfs ast.Node
	clean := d.fields(p.Value, ctx, templateKeys, func(k string, v ast.Node) {
		switch k {
		case "rootfs":
			rootfs, t.Rootfs = v, d.str(v, ctx, k)
		case "no_defaults":
			t.NoDefaults = d.boolean(v, ctx, k)
		case "modules":
			t.Modules = d.moduleRefs(v, ctx)
		case "env":
			t.Env = d.envEntries(v, ctx)
		case "mounts":
			t.Mounts = d.mounts(v, ctx)
		case "description":
			t.Description = d.str(v, ctx, k)
		}
	})
	if rootfs != nil || clean {
		d.rootfs(&t, rootfs, p.Key, ctx)
	}
	return t, len(d.errs) == n
}

// rootfs checks the template's image: "host", or [REPO:]NAME.
func (d *decoder) rootfs(t *Template, n, keyNode ast.Node, ctx string) {
	switch {
	case n == nil:
		d.errorf(keyNode, ctx, "missing key \"rootfs\" (an image as [REPO:]NAME, or \"host\")")
	case t.Rootfs == "host":
		t.Host = true
	default:
		ref, err := imageref.Parse(t.Rootfs)
		if err != nil {
			d.wrapf(n, ctx, err, "rootfs")
		}
		t.Image = ref
	}
}

func (d *decoder) moduleRefs(n ast.Node, ctx string) []ModuleRef {
	var out []ModuleRef
	for _, item := range d.list(n, ctx, "modules") {
		if name := d.str(item, ctx, "modules"); name != "" {
			out = append(out, ModuleRef{Name: name, At: d.at(item)})
		}
	}
	return out
}
