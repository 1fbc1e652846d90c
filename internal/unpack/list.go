package unpack

import (
	"errors"
	"io/fs"
	"os"
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

// List returns the directory of the cache and its entries, sorted by
// source, without creating the cache (no entries when it does not exist).
// Like every use of the cache, it goes through the checked descriptor.
func List() (dir string, entries []Cached, err error) {
	c, err := openCache(false)
	if errors.Is(err, fs.ErrNotExist) {
		return cacheDirName(), nil, nil
	}
	if err != nil {
		return cacheDirName(), nil, err
	}
	defer c.close()
	return c.path, list(c), nil
}

func list(c *cache) []Cached {
	var entries []Cached
	for _, name := range names(c) {
		var st unix.Stat_t
		if strings.HasPrefix(name, tmpPrefix) || strings.Contains(name, ".") ||
			unix.Fstatat(c.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		entries = append(entries, inspectEntry(c, name))
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Source < entries[j].Source })
	return entries
}

func inspectEntry(c *cache, key string) Cached {
	e := Cached{Key: key, Bytes: diskUseAt(c.fd, key, map[uint64]bool{})}
	src, ok := entrySource(c, key)
	e.Source = src
	if now, err := Key(src); !ok || err != nil || now != key {
		e.Stale = true
	}
	if lock, err := tryLockEntry(c, key, unix.LOCK_EX); err == nil {
		lock.Close()
	} else {
		e.InUse = errors.Is(err, unix.EWOULDBLOCK)
	}
	return e
}

// diskUseAt sums the blocks of name in dirfd and everything under it,
// counting each inode once, never following a link.
func diskUseAt(dirfd int, name string, seen map[uint64]bool) int64 {
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || seen[st.Ino] {
		return 0
	}
	seen[st.Ino] = true
	total := st.Blocks * 512
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return total
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return total
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	children, _ := f.Readdirnames(-1)
	for _, child := range children {
		total += diskUseAt(fd, child, seen)
	}
	return total
}

// Clean removes every entry that no container uses (all of them, or only
// the stale ones), and the leftovers of unpacks that died. Entries in use
// are kept: removing a tree under a running container would break it. It
// returns what was removed and what was kept because in use.
func Clean(staleOnly bool) (removed, kept []Cached, err error) {
	c, err := openCache(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer c.close()
	removeStale(c)
	for _, e := range list(c) {
		if staleOnly && !e.Stale {
			continue
		}
		if removeUnused(c, e.Key) {
			removed = append(removed, e)
		} else {
			kept = append(kept, e)
		}
	}
	return removed, kept, nil
}
