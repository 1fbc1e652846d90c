package modules

import (
	"context"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/mountspec"
)

// layer builds the layer of one application: the static entries, then, for
// a module with a generator, what the generator prints.
func (r *Resolver) layer(ctx context.Context, a application) (container.Layer, error) {
	if a.template != nil {
		t := a.template
		return r.static(TemplateOrigin(t.Name), t.Env, t.Mounts)
	}
	m := a.module
	l, err := r.static(Origin(m.Name), m.Env, m.Mounts)
	if err != nil || m.Generator == "" {
		return l, err
	}
	if r.Generators == nil {
		return l, fmt.Errorf("%s: generators are not available here", l.Origin)
	}
	out, err := r.Generators.Run(ctx, *m, r.HostEnv)
	if err != nil {
		return l, err
	}
	for _, w := range out.Warnings {
		if r.Warn != nil {
			r.Warn(l.Origin + ": " + w)
		}
	}
	l.Env = append(l.Env, out.Env...)
	l.Mounts = append(l.Mounts, out.Mounts...)
	return l, nil
}

// static converts the entries of a module or template.
func (r *Resolver) static(origin string, env []config.EnvEntry, mounts []config.Mount) (container.Layer, error) {
	l := container.Layer{Origin: origin}
	for _, e := range env {
		s, ok, err := EnvSpec(e, r.lookup)
		if err != nil {
			return l, fmt.Errorf("%s: %w", origin, err)
		}
		if ok {
			l.Env = append(l.Env, s)
		}
	}
	for _, m := range mounts {
		ms, ok, err := MountSpec(m)
		if err != nil {
			return l, fmt.Errorf("%s: %w", origin, err)
		}
		if ok {
			l.Mounts = append(l.Mounts, ms)
		}
	}
	return l, nil
}

func (r *Resolver) lookup(name string) string {
	v, _ := envspec.Lookup(r.HostEnv, name)
	return v
}

// EnvSpec parses a configuration env entry and expands the value of
// VAR=VAL, pp(VAR)=VAL and ps(VAR)=VAL against the host environment, so
// that "ps(PATH)=$HOME/mylib" means the user's home. An entry whose value
// uses an unset variable is skipped (ok false), as "VAR" is when VAR is
// unset: a default module must not fail where a variable is not defined.
func EnvSpec(e config.EnvEntry, env func(string) string) (envspec.Spec, bool, error) {
	s, err := envspec.Parse(e.Spec)
	if err != nil {
		return s, false, fmt.Errorf("%s: %w", e.At, err)
	}
	switch s.Kind {
	case envspec.Set, envspec.Prefix, envspec.Suffix:
	default:
		return s, true, nil
	}
	v, unset, err := config.Expand(s.Value, env)
	if err != nil {
		return s, false, fmt.Errorf("%s: env entry %q: %w", e.At, e.Spec, err)
	}
	s.Value = v
	return s, len(unset) == 0, nil
}

// MountSpec converts a configuration mount. A mount whose source or
// destination uses an unset variable is skipped when optional (ok false),
// and an error naming the variable otherwise.
func MountSpec(m config.Mount) (mountspec.Mount, bool, error) {
	if len(m.Unset) > 0 {
		if m.Optional {
			return mountspec.Mount{}, false, nil
		}
		return mountspec.Mount{}, false, fmt.Errorf("%s: mount %q: $%s is not set (with \"optional: true\" the mount is skipped then)",
			m.At, m.Written, strings.Join(m.Unset, ", $"))
	}
	typ := mountspec.TypeBind
	if m.Type == config.MountSquashfs {
		typ = mountspec.TypeSquashfs
	}
	return mountspec.Mount{
		Source: m.Source, Destination: m.Destination, ReadOnly: m.Readonly, Type: typ, Optional: m.Optional,
	}, true, nil
}
