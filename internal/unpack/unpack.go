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
// the user's containers), as must every directory above it that others
// could write to (see walk); it is used through the descriptor of that
// check, and a run bind-mounts its entry only if it is still the directory
// that was checked (Entry.ID). An entry is named after the squashfs file's path,
// size, modification time and inode, so a re-imported image gets a new one;
// it is unpacked under a temporary name and renamed into place, under an
// exclusive lock (concurrent runs of a job wait for one unpacker); runs hold
// a shared lock on it while their container lives. Entries of images that
// were replaced or deleted are removed by the next unpack, when no run holds
// them; a killed unpacker's temporary directory goes then too. An unpack
// writes at most Budget bytes (holes stay holes); an image that needs more,
// or is corrupt, is remembered as such (KEY.failed) until it changes.
package unpack

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/namesum"
	"github.com/pcocc/pcocc/internal/safeopen"
	"github.com/pcocc/pcocc/internal/sqfsformat"
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
// squashfs file at path: Budget, four times its size (images compress
// about threefold) and 256 MiB more. It creates nothing.
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
	return int64(fs.Bavail)*fs.Bsize >= Budget(st.Size())
}

// Budget is the most an unpack of a squashfs file of size bytes may write,
// and the room Room wants for it.
func Budget(size int64) int64 { return 4*size + 256<<20 }

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
	return filepath.Join(defaultBase, "pcocc-"+strconv.Itoa(os.Getuid()), "unpacked")
}

// defaultBase holds the default cache (a variable for the tests).
var defaultBase = "/var/tmp"

const (
	tmpPrefix    = ".tmp-"
	lockSuffix   = ".lock"
	failedSuffix = ".failed" // KEY.failed: the image cannot be unpacked (remembered)
	sourceFile   = "source"  // in an entry: the path of its squashfs file
	rootfsSubdir = "rootfs"
)

// CacheDir returns the user's cache directory, created when missing, after
// checking it and the directories above it (see walk).
func CacheDir() (string, error) {
	c, err := openCache(true)
	if err != nil {
		return "", err
	}
	c.close()
	return c.path, nil
}

// Inspect is CacheDir without creating anything (for pcocc check): the
// directory, whether it exists, and what is wrong with what exists of it.
func Inspect() (dir string, exists bool, err error) {
	dir = cacheDirName()
	c, err := openCache(false)
	if errors.Is(err, fs.ErrNotExist) {
		return dir, false, nil
	}
	if err != nil {
		return dir, false, err
	}
	c.close()
	return dir, true, nil
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
	sum := namesum.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d.%d\x00%d", abs, st.Size, st.Mtim.Sec, st.Mtim.Nsec, st.Ino))
	return hex.EncodeToString(sum[:])[:32], nil
}

// Entry is an unpacked image in use: its tree, and a shared lock on it that
// keeps other runs from pruning it while the container lives. Close
// releases the lock (the process's end does too).
type Entry struct {
	Dir      string // the image's tree: a path, for messages and for ID's check
	dev, ino uint64
	tree     int // the tree, open: its inode cannot be reused while held
	lock     *os.File
}

// ID identifies the tree that was checked: whoever opens Dir by path (the
// container's init) must find this device and inode there, else someone
// swapped a directory on the way meanwhile.
func (e *Entry) ID() (dev, ino uint64) { return e.dev, e.ino }

// Close releases the entry.
func (e *Entry) Close() error {
	if e == nil || e.lock == nil {
		return nil
	}
	unix.Close(e.tree)
	return e.lock.Close()
}

// Held returns the tree of the squashfs file at path, held (see Entry), when
// it is unpacked and no unpack of it is under way; nil otherwise (Ensure
// then does the rest). It never waits and creates nothing: the common case
// of pcocc run, with no signal handling to set up.
func Held(path string) (*Entry, error) {
	c, err := openCache(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer c.close()
	key, err := Key(path)
	if err != nil {
		return nil, err
	}
	lock, err := tryLockEntry(c, key, unix.LOCK_SH)
	if err != nil {
		return nil, nil // missing, or being unpacked
	}
	return heldEntry(c, key, lock)
}

// heldEntry returns the entry key of c, held with lock, or nil (and lock
// released) when it is not unpacked.
func heldEntry(c *cache, key string, lock *os.File) (*Entry, error) {
	rel := key + "/" + rootfsSubdir
	fd, err := openBeneath(c.fd, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		lock.Close()
		if err == unix.ENOENT {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", filepath.Join(c.path, rel), err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		lock.Close()
		return nil, err
	}
	return &Entry{Dir: filepath.Join(c.path, rel), dev: st.Dev, ino: st.Ino, tree: fd, lock: lock}, nil
}

// Ensure returns the tree of the squashfs file at path, unpacking it into
// the cache first when it is not there, and holds it (see Entry). Runs that
// want the same image at once wait for the one that unpacks it. When it
// unpacks, it also prunes the entries that nothing uses any more: older
// versions of the same image file, and images that were deleted.
//
// x reads the image and writes its tree (sqfuse.InProcess): the cache
// itself links no squashfs reader, so that a launch that finds its image
// here pays for no decompressor. An image that cannot be unpacked
// (sqfsformat.ErrFormat, sqfsformat.ErrLimit) is
// remembered: later runs get the same error at once, until the image file
// changes. Cancelling ctx (Ctrl-C) stops an unpack, or the wait for another
// run's, within a few milliseconds; nothing is published then.
func Ensure(ctx context.Context, path string, x Extractor) (*Entry, error) {
	c, err := openCache(true)
	if err != nil {
		return nil, withHint(err)
	}
	defer c.close()
	key, err := Key(path)
	if err != nil {
		return nil, err
	}
	for {
		e, again, err := ensure(ctx, c, key, path, x)
		if !again {
			return e, err
		}
	}
}

// ensure is one try of Ensure; again: the lock file was removed while this
// waited for it (a failed unpack, a prune), try again.
func ensure(ctx context.Context, c *cache, key, path string, x Extractor) (e *Entry, again bool, err error) {
	if err := failed(c, key); err != nil {
		return nil, false, err
	}
	lock, err := waitLockEntry(ctx, c, key, unix.LOCK_SH)
	if err != nil {
		return nil, false, err
	}
	if e, err := heldEntry(c, key, lock); e != nil || err != nil {
		return e, false, err
	}
	// Not there: unpack it under the exclusive lock, then keep a shared one.
	// (opened_ released the lock: take it again, exclusive.)
	lock, err = waitLockEntry(ctx, c, key, unix.LOCK_EX)
	if err != nil {
		return nil, false, err
	}
	if err := unpackEntry(ctx, c, path, key, x); err != nil {
		// No lock file left behind: whoever waits on it sees it gone.
		_ = unix.Unlinkat(c.fd, key+lockSuffix, 0)
		lock.Close()
		return nil, false, err
	}
	if err := flock(lock, unix.LOCK_SH); err != nil {
		lock.Close()
		return nil, false, err
	}
	prune(c, key)
	e, err = heldEntry(c, key, lock)
	return e, e == nil && err == nil, err
}

// tryLockEntry locks an existing entry's lock file without waiting.
func tryLockEntry(c *cache, key string, how int) (*os.File, error) {
	return lockEntry(c, key, false, func(f *os.File) error { return flock(f, how|unix.LOCK_NB) })
}

// waitLockEntry locks entry key's lock file (how: LOCK_SH or LOCK_EX),
// creating it if needed, waiting until ctx is done.
func waitLockEntry(ctx context.Context, c *cache, key string, how int) (*os.File, error) {
	return lockEntry(c, key, true, func(f *os.File) error { return flockCtx(ctx, f, how) })
}

// lockEntry opens the lock file of entry key (creating it if create is
// set) and locks it with lock. Whoever holds it exclusively may remove it
// (a failed unpack, a prune): a lock taken on a removed file is worth
// nothing, so the file is opened again.
func lockEntry(c *cache, key string, create bool, lock func(*os.File) error) (*os.File, error) {
	flags := unix.O_RDWR
	if create {
		flags |= unix.O_CREAT
	}
	for {
		fd, err := openBeneath(c.fd, key+lockSuffix, flags)
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(fd), key+lockSuffix)
		err = lock(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		var held, now unix.Stat_t
		if unix.Fstat(fd, &held) == nil && unix.Fstatat(c.fd, key+lockSuffix, &now, unix.AT_SYMLINK_NOFOLLOW) == nil &&
			held.Dev == now.Dev && held.Ino == now.Ino {
			return f, nil
		}
		f.Close()
	}
}

// openBeneath opens rel in dirfd without leaving it nor following any
// link; O_CREAT makes a file of mode 0600.
func openBeneath(dirfd int, rel string, flags int) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if flags&unix.O_CREAT != 0 {
		how.Mode = 0o600
	}
	return safeopen.Openat2(dirfd, rel, how)
}

// unpackEntry unpacks path into entry key (the caller holds its exclusive
// lock), unless another run did it meanwhile; an image that cannot be
// unpacked is remembered (failed).
func unpackEntry(ctx context.Context, c *cache, path, key string, x Extractor) error {
	var st unix.Stat_t
	if unix.Fstatat(c.fd, key+"/"+rootfsSubdir, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		return nil
	}
	if err := failed(c, key); err != nil {
		return err
	}
	removeStale(c)
	removeAt(c.fd, key) // an entry without its tree: someone's leftovers
	tmp := fmt.Sprintf("%s%d-%x", tmpPrefix, os.Getpid(), time.Now().UnixNano())
	if err := unix.Mkdirat(c.fd, tmp, 0o700); err != nil {
		return err
	}
	defer removeAt(c.fd, tmp) // gone already after a successful rename
	abs, err := filepath.Abs(path)
	if err == nil {
		err = writeAt(c.fd, tmp+"/"+sourceFile, abs)
	}
	if err == nil {
		err = unpackInto(ctx, c, path, tmp+"/"+rootfsSubdir, x)
	}
	if errors.Is(err, sqfsformat.ErrFormat) || errors.Is(err, sqfsformat.ErrLimit) {
		remember(c, tmp, key, abs, err)
		return err
	}
	if err == nil {
		err = ctx.Err() // cancelled at the last moment: publish nothing
	}
	if err == nil {
		err = unix.Renameat(c.fd, tmp, c.fd, key)
		if err == unix.EEXIST || err == unix.ENOTEMPTY {
			err = nil // published by another run meanwhile: use it
		}
	}
	return err
}

// writeAt writes a new file of c's with s in it.
func writeAt(dirfd int, rel, s string) error {
	fd, err := openBeneath(dirfd, rel, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), rel)
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Extractor writes the tree of a squashfs file into an empty directory,
// at most limit bytes; its errors wrap sqfsformat.ErrFormat for an image it
// cannot read, sqfsformat.ErrLimit for one too large.
type Extractor interface {
	Extract(ctx context.Context, image *os.File, dirfd int, limit int64) error
}

func unpackInto(ctx context.Context, c *cache, path, rel string, x Extractor) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := unix.Mkdirat(c.fd, rel, 0o700); err != nil {
		return err
	}
	fd, err := openBeneath(c.fd, rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := x.Extract(ctx, f, fd, Budget(st.Size())); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("unpacking into %s: %w", filepath.Join(c.path, rel), err)
	}
	return nil
}

// remember records that the image of entry key (file abs) cannot be
// unpacked, with why, in KEY.failed: its source, then the error. Written in
// tmp, then renamed: a reader sees all of it or nothing.
func remember(c *cache, tmp, key, abs string, why error) {
	if writeAt(c.fd, tmp+"/"+failedSuffix, abs+"\n"+kindOf(why)+"\n"+why.Error()) == nil {
		_ = unix.Renameat(c.fd, tmp+"/"+failedSuffix, c.fd, key+failedSuffix)
	}
}

func kindOf(err error) string {
	if errors.Is(err, sqfsformat.ErrLimit) {
		return "limit"
	}
	return "format"
}

// remembered is the error of an earlier run that could not unpack an image.
type remembered struct {
	kind error // sqfsformat.ErrFormat or sqfsformat.ErrLimit
	msg  string
}

func (r *remembered) Error() string {
	return r.msg + " (found by an earlier run: not tried again until the image file changes)"
}
func (r *remembered) Unwrap() error { return r.kind }

// failed returns the remembered error of entry key, if any.
func failed(c *cache, key string) error {
	_, kind, msg, ok := readFailed(c, key)
	if !ok {
		return nil
	}
	r := &remembered{kind: sqfsformat.ErrFormat, msg: msg}
	if kind == "limit" {
		r.kind = sqfsformat.ErrLimit
	}
	return r
}

// readFailed reads KEY.failed: source, kind and message.
func readFailed(c *cache, key string) (src, kind, msg string, ok bool) {
	fd, err := openBeneath(c.fd, key+failedSuffix, unix.O_RDONLY)
	if err != nil {
		return "", "", "", false
	}
	f := os.NewFile(uintptr(fd), key+failedSuffix)
	defer f.Close()
	b := make([]byte, 64<<10)
	n, _ := f.Read(b)
	parts := strings.SplitN(string(b[:n]), "\n", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// prune removes what no run holds of images that are gone or were replaced
// (their file now has another key): entries, remembered failures, lock
// files left alone; except key's.
func prune(c *cache, keep string) {
	for _, name := range names(c) {
		key, kind := name, ""
		for _, suffix := range []string{lockSuffix, failedSuffix} {
			if k, ok := strings.CutSuffix(name, suffix); ok {
				key, kind = k, suffix
			}
		}
		if key == keep || strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		var src string
		switch kind {
		case "":
			var ok bool
			if src, ok = entrySource(c, key); !ok {
				continue
			}
		case failedSuffix:
			src, _, _, _ = readFailed(c, key)
		case lockSuffix:
			var st unix.Stat_t
			if unix.Fstatat(c.fd, key, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				continue // the entry's: pruned with it
			}
			removeUnused(c, key) // a lock alone (a killed unpack's)
			continue
		}
		if now, err := Key(src); err == nil && now == key {
			continue // its image is still there, unchanged
		}
		if kind == failedSuffix {
			_ = unix.Unlinkat(c.fd, name, 0)
			continue
		}
		removeUnused(c, key)
	}
}

// entrySource reads the path of the squashfs file entry key was unpacked
// from.
func entrySource(c *cache, key string) (string, bool) {
	fd, err := openBeneath(c.fd, key+"/"+sourceFile, unix.O_RDONLY)
	if err != nil {
		return "", false
	}
	defer unix.Close(fd)
	b := make([]byte, 8192)
	n, _ := unix.Read(fd, b)
	return string(b[:max(n, 0)]), true
}

// names lists the cache.
func names(c *cache) []string {
	fd, err := unix.Openat(c.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), c.path)
	defer f.Close()
	n, _ := f.Readdirnames(-1)
	return n
}

// removeUnused removes an entry and its lock file unless a run holds it,
// and reports whether it did. The tree goes first, the lock file last: a run
// that opens the lock meanwhile finds no tree and unpacks again.
func removeUnused(c *cache, key string) bool {
	lock, err := tryLockEntry(c, key, unix.LOCK_EX)
	if err != nil {
		return false // in use, or gone
	}
	defer lock.Close()
	removeAt(c.fd, key)
	_ = unix.Unlinkat(c.fd, key+lockSuffix, 0)
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

// removeStale removes the temporary directories of runs that died.
func removeStale(c *cache) {
	for _, name := range names(c) {
		rest, ok := strings.CutPrefix(name, tmpPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err == nil && pid > 0 && unix.Kill(pid, 0) == unix.ESRCH {
			removeAt(c.fd, name)
		}
	}
}

// RemoveTree removes dir and everything in it, read-only directories
// included (an image's 0555 directories are kept as such when unpacked).
func RemoveTree(dir string) {
	fd, err := unix.Open(filepath.Dir(dir), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	removeAt(fd, filepath.Base(dir))
}

// removeAt removes name in dirfd and everything in it, never following a
// link; a best effort.
func removeAt(dirfd int, name string) {
	err := unix.Unlinkat(dirfd, name, 0)
	if err != unix.EISDIR {
		return // removed, missing, or not ours to remove
	}
	_ = unix.Fchmodat(dirfd, name, 0o700, 0) // a directory (unlink said so)
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), name)
	children, _ := f.Readdirnames(-1)
	for _, child := range children {
		removeAt(fd, child)
	}
	f.Close()
	_ = unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}
