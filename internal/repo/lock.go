package repo

import (
	"errors"
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
