// Package unpack keeps images unpacked in a node-local cache, for `pcocc run`
// with PCOCC_SQUASHFS_MOUNT=unpack: the container's root is then a
// read-only bind mount of a plain directory, with no FUSE server at all, so
// a container starts as fast as bwrap on a directory and its file system
// runs at the speed of the local disk. The first run of an image on a node
// pays for unpacking it (about 1 s per 100 MiB here), and the node keeps a
// copy of it: docs/benchmarks.md has the trade-offs.
//
// The cache is one directory per user, $PCOCC_UNPACK_DIR or
// /var/tmp/pcocc-<uid>/unpacked, mode 0700, which must belong to the user
// (a directory someone else prepared is refused: its content would become
// the user's containers). An entry is named after the squashfs file's path,
// size, modification time and inode, so a re-imported image gets a new one.
// An entry is unpacked under a temporary name and renamed into place: a
// concurrent run unpacks too and the loser discards its copy; a killed run
// leaves a temporary directory that the next run removes.
package unpack

import (
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

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// DirEnv names the variable that sets the cache directory.
const DirEnv = "PCOCC_UNPACK_DIR"

const tmpPrefix = ".tmp-"

// CacheDir returns the user's cache directory, created when missing, after
// checking that it is theirs and private.
func CacheDir() (string, error) {
	dir := os.Getenv(DirEnv)
	check := []string{dir}
	if dir == "" {
		// The parent is checked too: whoever owns it could swap the cache.
		parent := filepath.Join("/var/tmp", "pcocc-"+strconv.Itoa(os.Getuid()))
		dir = filepath.Join(parent, "unpacked")
		check = []string{parent, dir}
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

// Ensure returns the directory holding the tree of the squashfs file at
// path, unpacking it into the cache first when it is not there.
func Ensure(path string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	key, err := Key(path)
	if err != nil {
		return "", err
	}
	final := filepath.Join(cache, key)
	if _, err := os.Lstat(filepath.Join(final, "rootfs")); err == nil {
		return filepath.Join(final, "rootfs"), nil
	}
	removeStale(cache)
	tmp, err := os.MkdirTemp(cache, tmpPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	if err := unpackInto(path, filepath.Join(tmp, "rootfs")); err != nil {
		RemoveTree(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		RemoveTree(tmp)
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return "", err
		}
		// Another run unpacked the same image meanwhile: use its copy.
	}
	return filepath.Join(final, "rootfs"), nil
}

func unpackInto(path, dir string) error {
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
	if err := img.Unpack(dir); err != nil {
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
