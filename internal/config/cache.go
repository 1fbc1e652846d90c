package config

import (
	"encoding/json"
	"errors"
	"os"
	"slices"

	"golang.org/x/sys/unix"
)

// The parsed configuration cache. `pcocc run` starts at every container
// launch, and every package a program links is initialised at each start:
// the launcher (bin/pcocc) links no YAML parser. It reads the
// repositories and container modules and templates from a snapshot that
// pcocc-cli wrote after parsing the same files (WriteCache), and uses it
// only when nothing it was made from has changed: the configuration
// directories, every file read and every file looked for but absent (by
// device, inode, size, mode, modification and change times), and the
// value of every environment variable the files expanded. Anything else,
// or a snapshot that cannot be read, is a miss: the launcher hands the run
// to pcocc-cli, which parses the files, reports their errors with
// file:line:col as always, and writes a new snapshot. A configuration with
// errors is never written, so a stale or broken snapshot can cost a parse
// but never hide an error. docs/architecture.md, "Start", says more.

// cacheVersion changes with the snapshot's shape or meaning.
const cacheVersion = 1

// snapshot is what WriteCache writes: the inputs it was made from, then the
// parsed configuration.
type snapshot struct {
	Version     int
	Dirs        Dirs
	Env         []envValue
	Files       []fileStamp
	Repos       []cachedRepo
	UserMissing bool
	Modules     []Module
	Templates   []Template
	Notices     []Notice
}

// envValue is a variable the files' expansion looked up, with its value
// ("" when unset: expansion does not tell the two apart).
type envValue struct {
	Name, Value string
}

// cachedRepo carries a repository's reason to be unavailable on this node
// (an unset variable in its path) as its text.
type cachedRepo struct {
	Repository
	PathErr string `json:",omitempty"`
}

// fileStamp identifies a file or directory as found: a change of content,
// a replacement (rename over it), a new or removed file all change it.
type fileStamp struct {
	Path         string
	Exists       bool
	Dev, Ino     uint64
	Size         int64
	Mode         uint32
	Mtime, Ctime int64 // nanoseconds
}

// stampOf stats path, following symbolic links as reading it does.
func stampOf(path string) fileStamp {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileStamp{Path: path}
	}
	return fileStamp{Path: path, Exists: true, Dev: st.Dev, Ino: st.Ino, Size: st.Size, Mode: st.Mode,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano()}
}

// ErrCacheMiss: the snapshot is missing, unreadable, or older than what it
// was made from.
var ErrCacheMiss = errors.New("no up-to-date configuration snapshot")

// LoadCache returns the configuration of dirs from the snapshot in file
// when it is up to date for dirs and env; otherwise an error wrapping
// ErrCacheMiss. The file must be the caller's own and writable by no one
// else (it lives in the caller's private node cache).
func LoadCache(file string, dirs Dirs, env func(string) string) (*Config, error) {
	s, err := readSnapshot(file)
	if err != nil {
		return nil, err
	}
	if !s.current(dirs, env) {
		return nil, ErrCacheMiss
	}
	c := &Config{dirs: dirs, errs: map[Kind][]error{}, env: env, userMissing: s.UserMissing,
		modules: s.Modules, templates: s.Templates, notices: s.Notices}
	for _, r := range s.Repos {
		if r.PathErr != "" {
			r.pathErr = errors.New(r.PathErr)
		}
		c.repos = append(c.repos, r.Repository)
	}
	return c, nil
}

// readSnapshot reads and decodes file, refusing one that is not a regular
// file of the caller's, or that others may write.
func readSnapshot(file string) (*snapshot, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, errors.Join(ErrCacheMiss, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, errors.Join(ErrCacheMiss, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Getuid() || st.Mode&0o022 != 0 || st.Size > maxSnapshot {
		return nil, errors.Join(ErrCacheMiss, errors.New(file+": not a private regular file of the user's"))
	}
	var s snapshot
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return nil, errors.Join(ErrCacheMiss, err)
	}
	if s.Version != cacheVersion {
		return nil, ErrCacheMiss
	}
	return &s, nil
}

// maxSnapshot bounds what is read: a site's configuration is kilobytes.
const maxSnapshot = 16 << 20

// current: the snapshot was made from these directories, these values of
// the variables it used, and the files as they are now.
func (s *snapshot) current(dirs Dirs, env func(string) string) bool {
	if s.Dirs.System != dirs.System || s.Dirs.User != dirs.User || s.Dirs.UserRepo != dirs.UserRepo ||
		!slices.Equal(s.Dirs.Path, dirs.Path) {
		return false
	}
	for _, v := range s.Env {
		if env(v.Name) != v.Value {
			return false
		}
	}
	for _, f := range s.Files {
		if stampOf(f.Path) != f {
			return false
		}
	}
	return true
}

// recorder notes, while Load runs, the files and directories it looks at
// and the variables it expands: what a snapshot depends on.
type recorder struct {
	files []fileStamp
	seen  map[string]bool
	env   []envValue
}

// stat records path as it is now; call it before reading path, so that a
// change during the read leaves a stamp that no longer matches.
func (r *recorder) stat(path string) {
	if r == nil || r.seen[path] {
		return
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[path] = true
	r.files = append(r.files, stampOf(path))
}

// lookup wraps env so that each variable looked up is recorded once.
func (r *recorder) lookup(env func(string) string) func(string) string {
	return func(name string) string {
		v := env(name)
		if !slices.ContainsFunc(r.env, func(e envValue) bool { return e.Name == name }) {
			r.env = append(r.env, envValue{name, v})
		}
		return v
	}
}
