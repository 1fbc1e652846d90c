package repo

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fileLock is an flock(2) on a file. flock locks belong to the open file and
// vanish when the process dies, however it dies: that is what lets Clean tell
// a live transaction from the leftovers of a killed one.
type fileLock struct{ f *os.File }

func openLock(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &fileLock{f: f}, nil
}

func (l *fileLock) lock(how int) error {
	for {
		err := unix.Flock(int(l.f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// shared blocks until a shared lock is held.
func (l *fileLock) shared() error { return l.lock(unix.LOCK_SH) }

// exclusive blocks until an exclusive lock is held.
func (l *fileLock) exclusive() error { return l.lock(unix.LOCK_EX) }

// tryExclusive reports whether an exclusive lock was taken without waiting.
func (l *fileLock) tryExclusive() bool { return l.lock(unix.LOCK_EX|unix.LOCK_NB) == nil }

func (l *fileLock) close() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// LockName holds, until the returned function is called, a lock that
// serialises the changes to the image called name which read it before
// writing it (a new revision of a VM image): two saves of one image then
// make two revisions instead of one losing the other's. Lock files live in
// locks/, made on first use; they are never removed (one is a few bytes,
// and removing one would race with its next user).
func (r *Repo) LockName(name string) (func(), error) {
	if r.ReadOnly {
		return nil, r.readOnlyError()
	}
	if r.foreign != nil {
		return nil, r.errForeignWrite("change its images with the original pcocc")
	}
	if err := os.MkdirAll(r.join("locks"), 0o755); err != nil {
		return nil, fmt.Errorf("locking image %q: %w", name, err)
	}
	l, err := openLock(r.join("locks", name+".lock"))
	if err == nil {
		if err = l.exclusive(); err != nil {
			l.close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("locking image %q of repository %q: %w", name, r.Name, err)
	}
	return l.close, nil
}
