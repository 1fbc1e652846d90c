package modules

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// fakeConfig is a configuration in memory.
type fakeConfig struct{ mods []config.Module }

func (f fakeConfig) Modules() ([]config.Module, error) { return f.mods, nil }

func (f fakeConfig) Module(name string) (config.Module, error) {
	for _, m := range f.mods {
		if m.Name == name {
			return m, nil
		}
	}
	return config.Module{}, fmt.Errorf("module %q: %w", name, config.ErrNotFound)
}

func (f fakeConfig) TemplateModules(t config.Template) ([]config.Module, error) {
	var out []config.Module
	for _, r := range t.Modules {
		m, err := f.Module(r.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func mod(name string, def bool, env ...string) config.Module {
	m := config.Module{Name: name, Default: def}
	for _, e := range env {
		m.Env = append(m.Env, config.EnvEntry{Spec: e})
	}
	return m
}

func tpl(noDefaults bool, mods []string, env ...string) *config.Template {
	t := &config.Template{Name: "t", NoDefaults: noDefaults}
	for _, m := range mods {
		t.Modules = append(t.Modules, config.ModuleRef{Name: m})
	}
	for _, e := range env {
		t.Env = append(t.Env, config.EnvEntry{Spec: e})
	}
	return t
}

var testModules = fakeConfig{mods: []config.Module{
	mod("zdef", true, "V=zdef", "pp(P)=/zdef"),
	mod("adef", true, "V=adef", "A=adef", "pp(P)=/adef"),
	mod("m1", false, "V=m1", "pp(P)=/m1"),
	mod("m2", false, "V=m2", "ps(P)=/m2"),
}}

// TestPrecedence runs the resolved layers through the planner: the order
// of layers is the contract (image env < defaults < template < -M < --env).
func TestPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		imageEnv  []string
		wantOrder []string
		wantEnv   []string // entries the final env must hold
	}{
		{name: "defaults only, by name", req: Request{},
			wantOrder: []string{`module "adef"`, `module "zdef"`},
			wantEnv:   []string{"V=zdef", "A=adef", "P=/zdef:/adef"}},
		{name: "no defaults", req: Request{NoDefaults: true, Modules: []string{"m1"}},
			wantOrder: []string{`module "m1"`}, wantEnv: []string{"V=m1", "P=/m1"}},
		{name: "template no_defaults", req: Request{Template: tpl(true, []string{"m1"})},
			wantOrder: []string{`module "m1"`, `template "t"`}, wantEnv: []string{"V=m1"}},
		{name: "template over defaults, -M over template",
			req:       Request{Template: tpl(false, []string{"m1"}, "V=tpl"), Modules: []string{"m2"}},
			wantOrder: []string{`module "adef"`, `module "zdef"`, `module "m1"`, `template "t"`, `module "m2"`},
			wantEnv:   []string{"V=m2", "A=adef", "P=/m1:/zdef:/adef:/image:/m2"}, imageEnv: []string{"P=/image"}},
		{name: "template's own entries over its modules",
			req:     Request{NoDefaults: true, Template: tpl(false, []string{"m1"}, "V=tpl")},
			wantEnv: []string{"V=tpl"}},
		{name: "a module named twice applies once, at its highest place",
			req:       Request{Template: tpl(false, []string{"m1", "adef"}), Modules: []string{"adef", "m1", "adef"}},
			wantOrder: []string{`module "zdef"`, `template "t"`, `module "m1"`, `module "adef"`},
			wantEnv:   []string{"V=adef", "P=/adef:/m1:/zdef"}},
		{name: "image env is the base", req: Request{NoDefaults: true}, imageEnv: []string{"V=image"},
			wantEnv: []string{"V=image"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{Config: testModules}
			layers, err := r.Resolve(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantOrder != nil {
				var got []string
				for _, l := range layers {
					got = append(got, l.Origin)
				}
				if diff := cmp.Diff(tt.wantOrder, got); diff != "" {
					t.Errorf("layer order (-want +got):\n%s", diff)
				}
			}
			env := planEnv(t, tt.imageEnv, layers)
			for _, w := range tt.wantEnv {
				if !strings.Contains("\n"+strings.Join(env, "\n")+"\n", "\n"+w+"\n") {
					t.Errorf("env lacks %q: %q", w, env)
				}
			}
		})
	}
}

func planEnv(t *testing.T, imageEnv []string, layers []container.Layer) []string {
	t.Helper()
	s, err := container.Plan(container.Input{
		Image:   container.Image{Ref: "i", Squashfs: "/i.sqfs", Config: imagemeta.Config{Env: imageEnv, Cmd: []string{"sh"}}},
		Host:    container.Host{Cwd: "/"},
		Layers:  layers,
		Options: container.Options{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Env
}

func TestUnknownModules(t *testing.T) {
	r := &Resolver{Config: testModules}
	_, err := r.Resolve(context.Background(), Request{Modules: []string{"nope"}})
	if err == nil || err.Error() != `unknown module "nope" (known: zdef, adef, m1, m2)` {
		t.Errorf("unknown -M module: %v", err)
	}
	_, err = r.Resolve(context.Background(), Request{Template: tpl(false, []string{"gone"})})
	if err == nil || !strings.Contains(err.Error(), `module "gone"`) {
		t.Errorf("unknown template module: %v", err)
	}
	r = &Resolver{Config: fakeConfig{}}
	_, err = r.Resolve(context.Background(), Request{Modules: []string{"x"}})
	if err == nil || !strings.Contains(err.Error(), "no module is defined") {
		t.Errorf("no modules: %v", err)
	}
}

func TestEntriesExpandAgainstTheHost(t *testing.T) {
	at := config.Source{File: "f.yaml", Line: 3, Col: 9}
	m := config.Module{Name: "m", Env: []config.EnvEntry{
		{Spec: "ps(PATH)=$HOME/mylib", At: at},
		{Spec: "X=${UNSET_VAR}/x", At: at}, // skipped: its variable is unset
		{Spec: "re(^OMPI_$)", At: at},      // regexes are not expanded
	}, Mounts: []config.Mount{
		{Source: "/a", Type: config.MountSquashfs, Readonly: true, At: at},
		{Optional: true, Unset: []string{"CCCSCRATCHDIR"}, Written: "$CCCSCRATCHDIR", At: at},
	}}
	r := &Resolver{Config: fakeConfig{mods: []config.Module{m}}, HostEnv: []string{"HOME=/home/u"}}
	layers, err := r.Resolve(context.Background(), Request{Modules: []string{"m"}})
	if err != nil {
		t.Fatal(err)
	}
	l := layers[0]
	var env []string
	for _, s := range l.Env {
		env = append(env, s.String())
	}
	if diff := cmp.Diff([]string{"ps(PATH)=/home/u/mylib", "re(^OMPI_$)"}, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if len(l.Mounts) != 1 || l.Mounts[0].Type != "squashfs" || !l.Mounts[0].ReadOnly {
		t.Errorf("mounts: %+v", l.Mounts)
	}
	// The same unset variable in a mount that is not optional is an error
	// naming the place and the variable.
	m.Mounts[1].Optional = false
	r.Config = fakeConfig{mods: []config.Module{m}}
	_, err = r.Resolve(context.Background(), Request{Modules: []string{"m"}})
	want := `module "m": f.yaml:3:9: mount "$CCCSCRATCHDIR": $CCCSCRATCHDIR is not set`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want %q...", err, want)
	}
}

func TestExplainDoesNotRunGenerators(t *testing.T) {
	m := config.Module{Name: "g", Default: true, Generator: "/nonexistent/generator"}
	r := &Resolver{Config: fakeConfig{mods: []config.Module{m}}}
	got, err := r.Explain(Request{Template: tpl(false, nil, "A=1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Generator != m.Generator || got[0].Why != WhyDefault || got[1].Origin != `template "t"` {
		t.Errorf("Explain = %+v", got)
	}
	if _, err := r.Resolve(context.Background(), Request{}); err == nil {
		t.Error("Resolve with a generator and no Generators: no error")
	}
}
