package config

import "path/filepath"

// DefaultSystemDir is the system configuration directory unless
// $PCOCC_SYSTEM_CONF_DIR names another.
const DefaultSystemDir = "/etc/pcocc"

// Dirs are the configuration directories and the default location of the
// built-in user repository. Build it with DefaultDirs, or by hand in tests.
type Dirs struct {
	// System is the lowest-priority directory.
	System string
	// Path holds the PCOCC_CONFIG_PATH entries in the order given; a later
	// entry has a higher priority than an earlier one.
	Path []string
	// User is the highest-priority directory; empty when the environment
	// names no home directory (then no user file is read).
	User string
	// UserRepo is the default path of the built-in "user" repository; empty
	// when the environment names no home directory.
	UserRepo string
}

// DefaultDirs computes Dirs from an environment lookup such as os.Getenv.
// It reads no file. XDG variables that are not absolute are ignored, as the
// XDG base directory specification says.
func DefaultDirs(env func(string) string) Dirs {
	d := Dirs{System: DefaultSystemDir}
	if s := env("PCOCC_SYSTEM_CONF_DIR"); s != "" {
		d.System = s
	}
	for _, p := range filepath.SplitList(env("PCOCC_CONFIG_PATH")) {
		if p != "" {
			d.Path = append(d.Path, p)
		}
	}
	if base := xdgDir(env, "XDG_CONFIG_HOME", ".config"); base != "" {
		d.User = filepath.Join(base, "pcocc")
	}
	if base := xdgDir(env, "XDG_DATA_HOME", filepath.Join(".local", "share")); base != "" {
		d.UserRepo = filepath.Join(base, "pcocc", "images")
	}
	return d
}

// xdgDir returns $name if absolute, else $HOME/fallback, else "".
func xdgDir(env func(string) string, name, fallback string) string {
	if v := env(name); filepath.IsAbs(v) {
		return v
	}
	if home := homeDir(env); home != "" {
		return filepath.Join(home, fallback)
	}
	return ""
}

// homeDir returns $HOME when it is an absolute path, else "".
func homeDir(env func(string) string) string {
	if h := env("HOME"); filepath.IsAbs(h) {
		return h
	}
	return ""
}

// layers returns the directories to read, lowest priority first. A
// directory named twice is read once, at its highest priority, so that it
// is never "defined twice at the same priority" against itself.
func (d Dirs) layers() []string {
	all := append(append([]string{d.System}, d.Path...), d.User)
	var out []string
	for i, dir := range all {
		if dir == "" || seenLater(all[i+1:], dir) {
			continue
		}
		out = append(out, dir)
	}
	return out
}

func seenLater(rest []string, dir string) bool {
	for _, r := range rest {
		if r != "" && filepath.Clean(r) == filepath.Clean(dir) {
			return true
		}
	}
	return false
}
