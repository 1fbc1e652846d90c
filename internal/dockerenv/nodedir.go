package dockerenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Under Slurm the engine's socket of a job is served, on each host that
// asks for it, from a directory that depends only on the host, the user
// and the job: TMP/pcocc-docker-UID/JOB. The launcher serves it on the
// host it runs on; on any other host the first pcocc docker command starts
// a forwarder that serves it until the job's VM is gone. One process
// serves a job's socket on a host: the one that holds the lock on the
// job's directory.

// NodeDir is the job's directory on this host, made if missing (0700).
// The per-user directory must be the user's own, private and not a link:
// another user could have made it first in a shared /tmp.
func NodeDir(tmp string, uid, job int) (string, error) {
	user := filepath.Join(tmp, "pcocc-docker-"+strconv.Itoa(uid))
	if err := os.Mkdir(user, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("the Docker socket's directory: %w", err)
	}
	if err := ownPrivateDir(user, uid); err != nil {
		return "", err
	}
	dir := filepath.Join(user, strconv.Itoa(job))
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("the Docker socket's directory: %w", err)
	}
	return dir, nil
}

// ownPrivateDir: path is a directory (not a link) of uid, closed to others.
func ownPrivateDir(path string, uid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("the Docker socket's directory: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != uid || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s is not a private directory of yours (another user's, a link or open to others): remove it, or set TMPDIR elsewhere", path)
	}
	return nil
}

// ServeLock makes the caller the one that serves the job's socket in dir
// on this host. ok is false when another process does: nothing to do. The
// lock is on the directory itself; release removes the socket and the
// directory, then unlocks, so that the next one starts afresh.
func ServeLock(dir string) (release func(), ok bool, err error) {
	for {
		f, err := os.Open(dir)
		if err != nil {
			return nil, false, fmt.Errorf("the Docker socket's directory: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, false, nil
			}
			return nil, false, fmt.Errorf("the Docker socket's directory %s: %w", dir, err)
		}
		// A server that released removed the directory: lock the new one.
		if same(f, dir) {
			// A killed server's socket is left: listen afresh.
			os.RemoveAll(SocketDir(dir))
			return func() { os.RemoveAll(dir); f.Close() }, true, nil
		}
		f.Close()
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, false, fmt.Errorf("the Docker socket's directory: %w", err)
		}
	}
}

// Served is whether a process serves dir's socket on this host now.
func Served(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
