package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// builtinHome is the built-in default module for a user whose home is home.
func builtinHome(home string) Module {
	m := Module{
		Name:        HomeModule,
		Description: "your home directory at the same path, and HOME, USER, LOGNAME, TERM, LANG, LC_*, TZ",
		Default:     true,
		Mounts:      []Mount{{Source: home, Type: MountBind, Optional: true, Written: "$HOME"}},
	}
	for _, e := range []string{"HOME", "USER", "LOGNAME", "TERM", "LANG", "re(^LC_)", "TZ"} {
		m.Env = append(m.Env, EnvEntry{Spec: e})
	}
	return m
}

// With no configuration at all, the built-in "home" module is the one
// default module; without a usable $HOME its mount is skipped, not an error.
func TestBuiltinHomeModule(t *testing.T) {
	for _, tc := range []struct{ name, home, src string }{
		{"home set", "/home/u", "/home/u"},
		{"home unset", "", ""},
		{"home relative", "rel", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"HOME": tc.home, "PCOCC_SYSTEM_CONF_DIR": t.TempDir()}
			c := Load(Dirs{System: env["PCOCC_SYSTEM_CONF_DIR"]}, envMap(env))
			mods, err := c.Modules()
			if err != nil {
				t.Fatal(err)
			}
			want := builtinHome(tc.src)
			if tc.src == "" {
				want.Mounts[0].Unset = []string{"HOME"}
			}
			if diff := cmp.Diff([]Module{want}, mods, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Modules() (-want +got):\n%s", diff)
			}
			if got := mods[0].Source.String(); got != "built-in" {
				t.Errorf("source %q, want built-in", got)
			}
		})
	}
}

// A module called "home" at any configuration level replaces the built-in.
func TestBuiltinHomeReplaced(t *testing.T) {
	for _, f := range []string{"etc/containers.yaml", "p2/containers.d/x.yaml", "home/.config/pcocc/containers.yaml"} {
		t.Run(f, func(t *testing.T) {
			l := newLayout(t)
			c := l.load(t, map[string]string{f: "modules:\n  home:\n    description: site's\n"})
			m, err := c.Module(HomeModule)
			if err != nil {
				t.Fatal(err)
			}
			if m.Description != "site's" || m.Default || len(m.Mounts) != 0 {
				t.Errorf("home = %+v; want the file's", m)
			}
		})
	}
}
