package config

import "path/filepath"

// HostPassthrough is the built-in template whose root is the host's root
// file system (docs/modules.md, "The host's root: host-passthrough").
const HostPassthrough = "host-passthrough"

// HomeModule is the built-in default module: what a container needs to
// behave like a shell on the host when no site configuration says more.
const HomeModule = "home"

// builtinTemplates are defined below every configuration layer: a site or a
// user may redefine them, as any other name.
func builtinTemplates() []def[Template] {
	t := Template{
		Name:        HostPassthrough,
		Description: "the host's root file system, with mounts and modules applied",
		Rootfs:      "host",
		Host:        true,
	}
	return []def[Template]{{name: t.Name, layer: -1, val: t}}
}

// homeEnv is the minimal environment the built-in module propagates: who
// you are (HOME, USER, LOGNAME: many programs read them rather than
// /etc/passwd), how your terminal works (TERM), and your locale and time
// zone (LANG, LC_*, TZ), so that a program prints as it does on the host.
// Nothing else: the rest of the host's environment (PATH, LD_LIBRARY_PATH,
// modules' variables) describes the host's programs, not the image's.
var homeEnv = []string{"HOME", "USER", "LOGNAME", "TERM", "LANG", "re(^LC_)", "TZ"}

// builtinModules are defined below every configuration layer, like the
// built-in templates: a module called "home" in any configuration file
// replaces this one (with "default: false", it turns it off).
func builtinModules(env func(string) string) []def[Module] {
	m := Module{
		Name:        HomeModule,
		Description: "your home directory at the same path, and HOME, USER, LOGNAME, TERM, LANG, LC_*, TZ",
		Default:     true,
	}
	// Optional: a launch without $HOME (env -i) still works, with no home.
	home := Mount{Type: MountBind, Optional: true, Written: "$HOME"}
	if x, err := expand("$HOME", env); err == nil && filepath.IsAbs(x.value) {
		home.Source = filepath.Clean(x.value)
	} else {
		home.Unset = []string{"HOME"} // skipped, as an optional mount of an unset variable
	}
	m.Mounts = []Mount{home}
	for _, e := range homeEnv {
		m.Env = append(m.Env, EnvEntry{Spec: e})
	}
	return []def[Module]{{name: m.Name, layer: -1, val: m}}
}
