// Package safeopen is the one way pcocc calls openat2(2): every scoped
// lookup (RESOLVE_IN_ROOT, RESOLVE_BENEATH) goes through Openat2, which
// retries the failures the kernel gives when the lookup merely raced
// something else on the system.
package safeopen

import (
	"errors"

	"golang.org/x/sys/unix"
)

// maxRetries bounds the retries of one lookup. A scoped lookup fails with
// EAGAIN when a mount or rename happens anywhere on the system while it
// resolves "..", which every container start on the node does (it mounts):
// with 16 starts at once a few tries are common. A bound still matters: an
// attacker who renames in a loop must get an error, not a hang.
// (filepath-securejoin retries 32 times, libpathrs 128.)
const maxRetries = 128

// Openat2 is unix.Openat2 with O_CLOEXEC always set. A scoped lookup is
// retried a bounded number of times on EAGAIN, and on EXDEV (the kernel's
// final check that the result is inside the root, which a concurrent rename
// can also fail); the last error is returned.
func Openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	how.Flags |= unix.O_CLOEXEC
	for try := 0; ; try++ {
		fd, err := unix.Openat2(dirfd, path, how)
		if err == nil || try == maxRetries || !shouldRetry(how, err) {
			return fd, err
		}
	}
}

func shouldRetry(how *unix.OpenHow, err error) bool {
	scoped := how.Resolve&(unix.RESOLVE_IN_ROOT|unix.RESOLVE_BENEATH) != 0
	return scoped && (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EXDEV))
}
