package check

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
)

// HomeMount warns when no default module mounts the home directory: a
// program would then start in / ("cd ~ && pcocc run img" lands there) and
// see none of the user's files. The built-in "home" module does it unless a
// configuration file redefines "home"; a site's own default module may too.
func HomeMount(ctx context.Context, e *Env) []Result {
	const item = "home directory"
	mods, err := e.Config.Modules()
	if err != nil || e.Home == "" {
		return nil // the configuration item says why; without $HOME there is nothing to mount
	}
	var gens []string
	for _, m := range mods {
		if !m.Default {
			continue
		}
		if m.Generator != "" {
			gens = append(gens, fmt.Sprintf("%q", m.Name))
		}
		for _, mt := range m.Mounts {
			if mt.Type == config.MountBind && covers(mountDest(mt), e.Home) {
				return []Result{ok(item, fmt.Sprintf("%s, mounted by the default module %q (%s)", e.Home, m.Name, m.Source))}
			}
		}
	}
	detail := e.Home + " is mounted by no default module: containers start in / and do not see your files"
	if len(gens) > 0 {
		detail += " (unless the generator of " + strings.Join(gens, ", ") + " mounts it)"
	}
	return []Result{warn(item, detail, "add a default module that mounts $HOME (a module called \""+config.HomeModule+
		"\" in containers.yaml replaces the built-in one that does; see 'pcocc help modules'), or give --mount src=$HOME")}
}

// mountDest is where a mount appears in the container ("" when a variable
// of its path was unset: then it is skipped).
func mountDest(m config.Mount) string {
	if len(m.Unset) > 0 {
		return ""
	}
	if m.Destination != "" {
		return m.Destination
	}
	return m.Source
}

// covers reports whether a mount on dst makes path visible at its own place.
func covers(dst, path string) bool {
	if dst == "" {
		return false
	}
	rel, err := filepath.Rel(dst, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
