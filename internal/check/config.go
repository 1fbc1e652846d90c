package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/config"
)

// Configuration checks that every configuration file of each kind parses;
// the detail lists the errors, each with its file:line:col.
func Configuration(ctx context.Context, e *Env) []Result {
	repos, _ := e.Config.Repositories()
	modules, _ := e.Config.Modules()
	templates, _ := e.Config.Templates()
	counts := map[config.Kind]string{
		config.KindRepositories: plural(len(repos), "repository", "repositories"),
		config.KindContainers:   plural(len(modules), "module", "modules") + ", " + plural(len(templates), "template", "templates"),
	}
	var out []Result
	for _, k := range []config.Kind{config.KindRepositories, config.KindContainers} {
		item := "configuration " + string(k)
		if err := e.Config.Err(k); err != nil {
			out = append(out, fail(item, err.Error(), "correct the file at the line and column shown (see 'pcocc help "+string(k)+"')"))
			continue
		}
		out = append(out, ok(item, counts[k]))
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Repositories lists each repository as available, read-only or
// unavailable here (with the reason). The user's own must be usable and
// writable; a shared one may be read-only, and one this node cannot reach
// is a warning: commands skip it (see config.Repository.Available).
func Repositories(ctx context.Context, e *Env) []Result {
	repos, _ := e.Config.Repositories()
	var out []Result
	hasUser := false
	for _, r := range repos {
		hasUser = hasUser || r.Name == config.UserRepo
		out = append(out, checkRepo(e, r))
	}
	if !hasUser {
		_, err := e.Config.Repository(config.UserRepo)
		if err == nil {
			err = errors.New("not defined")
		}
		out = append(out, fail("repository "+config.UserRepo, err.Error(), "set $HOME, or define \""+config.UserRepo+"\" in repositories.yaml"))
	}
	return out
}

func checkRepo(e *Env, r config.Repository) Result {
	item := "repository " + r.Name
	builtin := r.Source == (config.Source{})
	if !builtin {
		// The built-in user repository creates its parents at first use.
		if err := r.Available(); err != nil {
			return unavailable(r, err)
		}
	}
	if _, err := e.Stat(r.Path); errors.Is(err, fs.ErrNotExist) {
		return checkNewRepo(e, r)
	}
	rp, err := e.OpenRepo(r.Name, r.Path)
	if err != nil {
		return unavailable(r, r.Unavailable(err))
	}
	if f := rp.Format(); f != "" {
		ro := ""
		if rp.ReadOnly {
			ro = ", read-only"
		}
		return ok(item, fmt.Sprintf("%s (%s%s: 'pcocc image rebuild NAME' builds the squashfs of its container images)", r.Path, f, ro))
	}
	switch {
	case !rp.ReadOnly:
		return ok(item, r.Path+" (available)")
	case r.Name == config.UserRepo:
		return fail(item, r.Path+" is read-only: images cannot be imported", "chmod u+w "+r.Path)
	}
	return ok(item, r.Path+" (read-only)")
}

// unavailable is the result of a repository this node cannot use: an error
// for the user's own, a warning for another, which commands skip.
func unavailable(r config.Repository, err error) Result {
	item := "repository " + r.Name
	fix := "mount its file system, set the variables its path uses, or correct the path in " + r.Source.String()
	if r.Name == config.UserRepo {
		return fail(item, err.Error(), fix)
	}
	return warn(item, err.Error()+" (commands skip it)", fix)
}

// checkNewRepo checks a repository that does not exist yet: it is created
// at first use, in a parent that must be writable (the built-in user
// repository creates its parents under $HOME too).
func checkNewRepo(e *Env, r config.Repository) Result {
	parent := filepath.Dir(r.Path)
	if r.Source == (config.Source{}) {
		parent = nearestExisting(e, parent)
	}
	if !e.Writable(parent) {
		return unavailable(r, r.Unavailable(fmt.Errorf("%s does not exist and %s is not writable", r.Path, parent)))
	}
	return ok("repository "+r.Name, r.Path+" (created at first use)")
}
