//go:build !pcocc_launcher

package config

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/pcocc/pcocc/internal/atomicfile"
)

// raceWindow: a file changed this recently is not trusted to its time
// stamps (a second change within the file system's clock tick, of the same
// size, would leave them as they are): the snapshot waits for a later run.
const raceWindow = 2 * time.Second

// WriteCache writes the snapshot of c (see LoadCache) to file, replacing it
// at once; it writes nothing, and returns nil, when c was not made by Load,
// has errors, names a repository unavailable for want of a home directory,
// or was read from a file changed less than raceWindow ago.
func (c *Config) WriteCache(file string) error { return c.writeCache(file, time.Now()) }

func (c *Config) writeCache(file string, now time.Time) error {
	s, ok := c.snapshot(now)
	if !ok {
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(file, b, 0o600)
}

// snapshot is c as WriteCache writes it; false when it must not be cached.
func (c *Config) snapshot(now time.Time) (*snapshot, bool) {
	if c.rec == nil || len(c.errs[KindRepositories]) > 0 || len(c.errs[KindContainers]) > 0 {
		return nil, false
	}
	s := &snapshot{Version: cacheVersion, Dirs: c.dirs, Env: c.rec.env, Files: c.rec.files,
		UserMissing: c.userMissing, Modules: c.modules, Templates: c.templates, Notices: c.notices}
	for _, f := range s.Files {
		if now.Sub(time.Unix(0, max(f.Mtime, f.Ctime))) < raceWindow {
			return nil, false
		}
	}
	for _, r := range c.repos {
		cr := cachedRepo{Repository: r}
		if r.pathErr != nil {
			if errors.Is(r.pathErr, ErrNoHome) {
				return nil, false
			}
			cr.PathErr = r.pathErr.Error()
		}
		s.Repos = append(s.Repos, cr)
	}
	return s, true
}
