// Package modules turns the modules and the template of a launch into the
// layers of env specs and mounts that internal/container plans with: it
// picks the modules (default ones, the template's, the command line's),
// expands their entries against the host environment, and runs their
// generators. docs/modules.md and docs/admin-guide.md describe the rules.
package modules

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
)

// Config is what Resolve needs from the configuration (*config.Config).
type Config interface {
	Modules() ([]config.Module, error)
	Module(name string) (config.Module, error)
	TemplateModules(t config.Template) ([]config.Module, error)
}

// Request says which modules a launch asks for.
type Request struct {
	Template   *config.Template // the template run, nil for an image
	Modules    []string         // named on the command line (-M), in order
	NoDefaults bool             // --no-defaults
}

// Resolver resolves requests against one configuration and host.
type Resolver struct {
	Config  Config
	HostEnv []string // the launcher's environment, "NAME=VALUE"
	// Generators runs module generators; nil refuses modules that have one.
	Generators *Generators
	// Warn receives what generators print on stderr when they succeed.
	Warn func(msg string)
}

// application is one module to apply, or a template's own entries.
type application struct {
	module   *config.Module
	template *config.Template
	why      string // Why* constant
}

// Why a module is applied.
const (
	WhyDefault     = "default"
	WhyTemplate    = "template"
	WhyCommandLine = "command line"
)

// Resolve returns the layers of the request, lowest precedence first:
// default modules (by name), the template's modules then its own entries,
// then the modules of the command line. A module asked for twice is applied
// once, at its highest place, so that pp()/ps() do not add twice.
func (r *Resolver) Resolve(ctx context.Context, req Request) ([]container.Layer, error) {
	apps, err := r.pick(req)
	if err != nil {
		return nil, err
	}
	var out []container.Layer
	for _, a := range dedupe(apps) {
		l, err := r.layer(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// pick lists the applications in precedence order, duplicates included.
func (r *Resolver) pick(req Request) ([]application, error) {
	var apps []application
	if !req.NoDefaults && (req.Template == nil || !req.Template.NoDefaults) {
		defs, err := r.defaults()
		if err != nil {
			return nil, err
		}
		apps = append(apps, modApps(defs, WhyDefault)...)
	}
	if t := req.Template; t != nil {
		mods, err := r.Config.TemplateModules(*t)
		if err != nil {
			return nil, err
		}
		apps = append(apps, modApps(mods, WhyTemplate)...)
		apps = append(apps, application{template: t, why: WhyTemplate})
	}
	for _, name := range req.Modules {
		m, err := r.module(name)
		if err != nil {
			return nil, err
		}
		apps = append(apps, modApps([]config.Module{m}, WhyCommandLine)...)
	}
	return apps, nil
}

func (r *Resolver) defaults() ([]config.Module, error) {
	all, err := r.Config.Modules()
	if err != nil {
		return nil, err
	}
	var defs []config.Module
	for _, m := range all {
		if m.Default {
			defs = append(defs, m)
		}
	}
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	return defs, nil
}

func modApps(mods []config.Module, why string) []application {
	out := make([]application, len(mods))
	for i := range mods {
		out[i] = application{module: &mods[i], why: why}
	}
	return out
}

// dedupe keeps the last application of each module.
func dedupe(apps []application) []application {
	last := map[string]int{}
	for i, a := range apps {
		if a.module != nil {
			last[a.module.Name] = i
		}
	}
	var out []application
	for i, a := range apps {
		if a.module == nil || last[a.module.Name] == i {
			out = append(out, a)
		}
	}
	return out
}

// Origin names a module in layers and messages.
func Origin(name string) string { return fmt.Sprintf("module %q", name) }

// TemplateOrigin names a template's own entries in layers and messages.
func TemplateOrigin(name string) string { return fmt.Sprintf("template %q", name) }

// module finds a module named on the command line.
func (r *Resolver) module(name string) (config.Module, error) {
	m, err := r.Config.Module(name)
	if !errors.Is(err, config.ErrNotFound) {
		return m, err
	}
	all, _ := r.Config.Modules()
	known := make([]string, 0, len(all))
	for _, m := range all {
		known = append(known, m.Name)
	}
	if len(known) == 0 {
		return m, fmt.Errorf("unknown module %q (no module is defined; see 'pcocc module list')", name)
	}
	return m, fmt.Errorf("unknown module %q (known: %s)", name, strings.Join(known, ", "))
}
