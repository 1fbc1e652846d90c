package unpack

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Cached is one entry of the cache, for `pcocc image cache list|clean`.
type Cached struct {
	Key    string
	Source string // the squashfs file it was unpacked from
	Bytes  int64  // disk use of the unpacked tree
	InUse  bool   // a container holds it (its lock is taken)
	// Stale: its image was deleted or re-imported since; the next unpack
	// would remove it once unused.
	Stale bool
}

// List returns the entries of the cache, sorted by source, without
// creating the cache (nil when it does not exist).
func List() (dir string, entries []Cached, err error) {
	dir, exists, err := Inspect()
	if err != nil || !exists {
		return dir, nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return dir, nil, err
	}
	for _, d := range ents {
		if !d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			continue
		}
		entries = append(entries, inspectEntry(dir, d.Name()))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Source < entries[j].Source })
	return dir, entries, nil
}

func inspectEntry(cache, key string) Cached {
	e := Cached{Key: key, Bytes: diskUse(filepath.Join(cache, key))}
	src, err := os.ReadFile(filepath.Join(cache, key, sourceFile))
	e.Source = string(src)
	if now, kerr := Key(e.Source); err != nil || kerr != nil || now != key {
		e.Stale = true
	}
	e.InUse = inUse(filepath.Join(cache, key))
	return e
}

// inUse tries the entry's lock without waiting: a run holds it shared
// while its container lives, an unpack exclusively.
func inUse(entry string) bool {
	lock, err := os.OpenFile(entry+lockSuffix, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer lock.Close()
	return flock(lock, unix.LOCK_EX|unix.LOCK_NB) != nil
}

// diskUse sums the blocks of every file under dir (hard links once).
func diskUse(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil || (st.Nlink > 1 && !d.IsDir() && seen[st.Ino]) {
			return nil
		}
		seen[st.Ino] = true
		total += st.Blocks * 512
		return nil
	})
	return total
}

// Clean removes every entry that no container uses (all of them, or only
// the stale ones), and the leftovers of unpacks that died. Entries in use
// are kept: removing a tree under a running container would break it. It
// returns what was removed and what was kept because in use.
func Clean(staleOnly bool) (removed, kept []Cached, err error) {
	dir, entries, err := List()
	if err != nil {
		return nil, nil, err
	}
	removeStale(dir)
	for _, e := range entries {
		if staleOnly && !e.Stale {
			continue
		}
		if removeUnused(filepath.Join(dir, e.Key)) {
			removed = append(removed, e)
		} else {
			kept = append(kept, e)
		}
	}
	return removed, kept, nil
}
