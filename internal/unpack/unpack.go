// Package unpack keeps images unpacked in a node-local cache, for `pcocc
// run` when PCOCC_SQUASHFS_MOUNT is unpack, or auto (the default) and the
// image is small enough (Small, Room): the container's root is then a read-only
// bind mount of a plain directory, with no FUSE server at all, so a
// container starts as fast as on a directory and its file system runs at
// the speed of the local disk and page cache. The first run of an image on
// a node pays for unpacking it (about 0.6 s per 100 MiB of squashfs here),
// and the node keeps a copy: docs/benchmarks.md has the trade-offs.
//
// The cache is one directory per user, $PCOCC_UNPACK_DIR or
// /var/tmp/pcocc-<uid>/unpacked, mode 0700, which must belong to the user
// (a directory someone else prepared is refused: its content would become
// the user's containers). An entry is named after the squashfs file's path,
// size, modification time and inode, so a re-imported image gets a new one;
// it is unpacked under a temporary name and renamed into place, under an
// exclusive lock (concurrent runs of a job wait for one unpacker); runs hold
// a shared lock on it while their container lives. Entries of images that
// were replaced or deleted are removed by the next unpack, when no run holds
// them; a killed unpacker's temporary directory goes then too.
package unpack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// DirEnv names the variable that sets the cache directory.
const DirEnv = "PCOCC_UNPACK_DIR"

// MaxEnv names the variable that sets, in MiB, the largest squashfs file
// that the automatic mode unpacks (DefaultMaxMiB).
const MaxEnv = "PCOCC_UNPACK_MAX_MIB"

// DefaultMaxMiB: a squashfs of 512 MiB unpacks in about 3 s on one node of
// the development machine; larger images are served by FUSE, which reads
// only what the job touches.
const DefaultMaxMiB = 512

// Small tells whether the squashfs file at path is at most maxMiB MiB (see
// MaxMiB): small enough for the automatic mode to unpack.
func Small(path string, maxMiB int64) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() <= maxMiB<<20
}

// Room tells whether the cache's file system has room to unpack the
// squashfs file at path: four times its size (images compress about
// threefold) and 256 MiB more. It creates nothing.
func Room(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	var fs unix.Statfs_t
	for d := cacheDirName(); ; d = filepath.Dir(d) {
		if err := unix.Statfs(d, &fs); err == nil {
			break
		}
		if d == filepath.Dir(d) {
			return false
		}
	}
	return int64(fs.Bavail)*fs.Bsize >= 4*st.Size()+256<<20
}

// MaxMiB is the largest squashfs, in MiB, that the automatic mode unpacks:
// MaxEnv, else DefaultMaxMiB.
func MaxMiB() (int64, error) {
	v := os.Getenv(MaxEnv)
	if v == "" {
		return DefaultMaxMiB, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: not a size in MiB (a whole number, 0 or more)", MaxEnv, v)
	}
	return n, nil
}

func cacheDirName() string {
	if dir := os.Getenv(DirEnv); dir != "" {
		return dir
	}
	return filepath.Join("/var/tmp", "pcocc-"+strconv.Itoa(os.Getuid()), "unpacked")
}

const tmpPrefix = ".tmp-"

// CacheDir returns the user's cache directory, created when missing, after
// checking that it is theirs and private.
func CacheDir() (string, error) {
	dir := cacheDirName()
	check := []string{dir}
	if os.Getenv(DirEnv) == "" {
		// The parent is checked too: whoever owns it could swap the cache.
		check = []string{filepath.Dir(dir), dir}
	}
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("%s=%q: not an absolute path", DirEnv, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("unpacked image cache: %w", err)
	}
	for _, d := range check {
		if err := checkOwned(d); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Inspect is CacheDir without creating anything (for pcocc check): the
// directory, whether it exists, and what is wrong with what exists of it.
func Inspect() (dir string, exists bool, err error) {
	dir = cacheDirName()
	if !filepath.IsAbs(dir) {
		return dir, false, fmt.Errorf("%s=%q: not an absolute path", DirEnv, dir)
	}
	check := []string{dir}
	if os.Getenv(DirEnv) == "" {
		check = []string{filepath.Dir(dir), dir}
	}
	for _, d := range check {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			return dir, false, nil
		}
		if err := checkOwned(d); err != nil {
			return dir, false, err
		}
	}
	return dir, true, nil
}

// checkOwned refuses a directory that is not the user's, or that others can
// write to.
func checkOwned(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("unpacked image cache %s: not a directory", dir)
	case int(st.Uid) != os.Getuid():
		return fmt.Errorf("unpacked image cache %s: belongs to uid %d, not to you", dir, st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("unpacked image cache %s: writable by others (mode %o)", dir, st.Mode&0o777)
	}
	return nil
}

// Key names the cache entry of the squashfs file at path.
func Key(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Stat(abs, &st); err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d.%d\x00%d", abs, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ino)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// Entry is an unpacked image in use: its tree, and a shared lock on it that
// keeps other runs from pruning it while the container lives. Close
// releases the lock (the process's end does too).
type Entry struct {
	Dir  string // the image's tree
	lock *os.File
}

// Close releases the entry.
func (e *Entry) Close() error {
	if e == nil || e.lock == nil {
		return nil
	}
	return e.lock.Close()
}

// Held returns the tree of the squashfs file at path, held (see Entry), when
// it is unpacked and no unpack of it is under way; nil otherwise (Ensure
// then does the rest). It never waits: the common case of pcocc run, with no
// signal handling to set up.
func Held(path string) (*Entry, error) {
	e, _, _, err := openEntry(path)
	if err != nil {
		return nil, err
	}
	if flock(e.lock, unix.LOCK_SH|unix.LOCK_NB) != nil {
		e.Close()
		return nil, nil
	}
	if _, err := os.Lstat(e.Dir); err != nil {
		e.Close()
		return nil, nil
	}
	return e, nil
}

// openEntry opens the lock of the cache entry of the squashfs file at path
// (creating the cache and the lock file when missing), unlocked. It returns
// the cache and the entry's directory too.
func openEntry(path string) (e *Entry, cache, final string, err error) {
	if cache, err = CacheDir(); err != nil {
		return nil, "", "", err
	}
	key, err := Key(path)
	if err != nil {
		return nil, "", "", err
	}
	final = filepath.Join(cache, key)
	lock, err := os.OpenFile(final+lockSuffix, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", "", err
	}
	return &Entry{Dir: filepath.Join(final, rootfsSubdir), lock: lock}, cache, final, nil
}

// Ensure returns the tree of the squashfs file at path, unpacking it into
// the cache first when it is not there, and holds it (see Entry). Runs that
// want the same image at once wait for the one that unpacks it. When it
// unpacks, it also prunes the entries that nothing uses any more: older
// versions of the same image file, and images that were deleted.
//
// Cancelling ctx (Ctrl-C) stops an unpack, or the wait for another run's,
// within a few milliseconds; what was unpacked is removed.
func Ensure(ctx context.Context, path string) (*Entry, error) {
	e, cache, final, err := openEntry(path)
	if err != nil {
		return nil, err
	}
	lock := e.lock
	if err := flockCtx(ctx, lock, unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, err
	}
	if _, err := os.Lstat(e.Dir); err == nil {
		return e, nil
	}
	// Not there: unpack it under the exclusive lock, then keep a shared one.
	if err := flockCtx(ctx, lock, unix.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	if err := unpackEntry(ctx, cache, path, final); err != nil {
		lock.Close()
		return nil, err
	}
	if err := flock(lock, unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, err
	}
	prune(cache, filepath.Base(final))
	return e, nil
}

const (
	lockSuffix   = ".lock"
	sourceFile   = "source" // in an entry: the path of its squashfs file
	rootfsSubdir = "rootfs"
)

// unpackEntry unpacks path into final (the caller holds its exclusive
// lock), unless another run did it meanwhile.
func unpackEntry(ctx context.Context, cache, path, final string) error {
	if _, err := os.Lstat(filepath.Join(final, rootfsSubdir)); err == nil {
		return nil
	}
	removeStale(cache)
	RemoveTree(final) // an entry without its tree: someone's leftovers
	tmp, err := os.MkdirTemp(cache, tmpPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, sourceFile), []byte(abs), 0o600)
	}
	if err == nil {
		err = unpackInto(ctx, path, filepath.Join(tmp, rootfsSubdir))
	}
	if err == nil {
		err = os.Rename(tmp, final)
		if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			err = nil // published by another run meanwhile: use it
		}
	}
	RemoveTree(tmp) // gone already after a successful rename
	return err
}

// prune removes the entries that no run holds and whose image is gone or
// was replaced (its file now has another key), except keep.
func prune(cache, keep string) {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, d := range ents {
		key := d.Name()
		if key == keep || !d.IsDir() || strings.HasPrefix(key, tmpPrefix) {
			continue
		}
		src, err := os.ReadFile(filepath.Join(cache, key, sourceFile))
		if err != nil {
			continue
		}
		if now, err := Key(string(src)); err == nil && now == key {
			continue // its image is still there, unchanged
		}
		removeUnused(filepath.Join(cache, key))
	}
}

// removeUnused removes an entry unless a run holds it, and reports whether
// it did. The entry's tree goes first, its lock file last: a run that opens
// the lock meanwhile finds no tree and unpacks again.
func removeUnused(entry string) bool {
	lock, err := os.OpenFile(entry+lockSuffix, os.O_RDWR, 0)
	if err != nil {
		// No lock file: a run that opened it before a clean removed it may
		// hold the old one and use this tree. Keep it.
		return false
	}
	defer lock.Close()
	if flock(lock, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // in use
	}
	RemoveTree(entry)
	_ = os.Remove(entry + lockSuffix)
	return true
}

// flockCtx takes a lock, giving up when ctx is cancelled (flock(2) itself
// cannot be interrupted: Go's signal handlers restart it).
func flockCtx(ctx context.Context, f *os.File, how int) error {
	for {
		err := flock(f, how|unix.LOCK_NB)
		if err != unix.EWOULDBLOCK {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func unpackInto(ctx context.Context, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := sqfuse.Open(f, 0)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if err := img.Unpack(ctx, dir); err != nil {
		return fmt.Errorf("unpacking into %s: %w", dir, err)
	}
	return nil
}

// removeStale removes the temporary directories of runs that died.
func removeStale(cache string) {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), tmpPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid > 0 && unix.Kill(pid, 0) == unix.ESRCH {
			RemoveTree(filepath.Join(cache, e.Name()))
		}
	}
}

// RemoveTree removes dir and everything in it, read-only directories
// included (an image's 0555 directories are kept as such when unpacked).
func RemoveTree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
