package modules

import "github.com/pcocc/pcocc/internal/config"

// Applied is one module, or a template's own entries, as a launch would
// apply them: what `pcocc template show` prints, generators not run.
type Applied struct {
	Origin    string // `module "x"` or `template "t"`
	Why       string // Why* constant
	Defined   config.Source
	Env       []config.EnvEntry
	Mounts    []config.Mount
	Generator string
}

// Explain returns what Resolve would apply for req, in the same order,
// without expanding entries or running generators.
func (r *Resolver) Explain(req Request) ([]Applied, error) {
	apps, err := r.pick(req)
	if err != nil {
		return nil, err
	}
	var out []Applied
	for _, a := range dedupe(apps) {
		if t := a.template; t != nil {
			out = append(out, Applied{Origin: TemplateOrigin(t.Name), Why: a.why, Defined: t.Source, Env: t.Env, Mounts: t.Mounts})
			continue
		}
		m := a.module
		out = append(out, Applied{Origin: Origin(m.Name), Why: a.why, Defined: m.Source,
			Env: m.Env, Mounts: m.Mounts, Generator: m.Generator})
	}
	return out, nil
}
