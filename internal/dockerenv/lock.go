package dockerenv

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// LockDisk makes the caller the only daemon on the data disk at path: an
// exclusive lock on PATH.lock (beside the disk, so that allocations on
// other nodes sharing the file system see it too) that holds the holder's
// description. A held lock is refused with one line naming the holder.
// release unlocks and removes the lock file.
func LockDisk(path, holder string) (release func(), err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the Docker data disk: %w (create it: qemu-img create -f raw %s 100G; mkfs.ext4 %s)", err, path, path)
	}
	lp := path + ".lock"
	for {
		f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("the Docker data disk's lock: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b := make([]byte, 512)
			n, _ := f.ReadAt(b, 0)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("the Docker data disk %s is in use by %s: one Docker daemon at a time on it", path, orUnknown(strings.TrimSpace(string(b[:n]))))
			}
			return nil, fmt.Errorf("the Docker data disk's lock %s: %w", lp, err)
		}
		// A holder that released removed the file: lock the one at the path.
		if same(f, lp) {
			f.Truncate(0)
			f.WriteAt([]byte(holder+"\n"), 0)
			return func() { os.Remove(lp); f.Close() }, nil
		}
		f.Close()
	}
}

func same(f *os.File, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(int(f.Fd()), &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

func orUnknown(s string) string {
	if s == "" {
		return "another allocation"
	}
	return s
}
