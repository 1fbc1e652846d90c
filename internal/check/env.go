package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/unpack"
)

// FuseDevEnv overrides the FUSE device path. It is a test hook only: the
// end-to-end tests use it to make FUSE "unusable" without root.
const FuseDevEnv = "PCOCC_CHECK_FUSE_DEV"

// Env is everything the checks read from the host. System fills it with
// the real host; tests fill it with fakes.
type Env struct {
	// ReadFile reads /proc files (/proc/filesystems, /proc/sys/...).
	ReadFile func(name string) ([]byte, error)
	// FuseDev is the FUSE device, /dev/fuse unless FuseDevEnv is set.
	FuseDev string
	// OpenRW opens a file read-write and closes it.
	OpenRW func(name string) error
	// Kernel returns the kernel release (uname -r).
	Kernel func() (string, error)
	// Probe creates a user and mount namespace and tries mode in it:
	// "userns", "overlay" or "fuse" (with the device as argument).
	Probe func(ctx context.Context, mode string, args ...string) error
	// LookPath finds a program on PATH.
	LookPath func(prog string) (string, error)
	// Output runs a program and returns its stdout and stderr together.
	Output func(ctx context.Context, prog string, args ...string) (string, error)
	// Config is the loaded configuration.
	Config *config.Config
	// Home is the user's home directory ($HOME; "" when unset).
	Home string
	// Stat, Writable and OpenRepo look at repository paths.
	Stat     func(name string) (os.FileInfo, error)
	Writable func(name string) bool
	OpenRepo func(name, path string) (*repo.Repo, error)
	// FUSEServer is the PCOCC_SQUASHFS_MOUNT choice ("" for the default).
	FUSEServer string
	// UnpackCache returns the cache of unpacked images, whether it exists
	// yet, and the free space of the file system it is or will be on; nil:
	// not checked. It creates nothing.
	UnpackCache func() (dir string, exists bool, free int64, err error)
	// UnpackMax is unpack.MaxMiB: the largest squashfs the automatic mode
	// unpacks, or why PCOCC_UNPACK_MAX_MIB is wrong.
	UnpackMax func() (int64, error)
}

// System returns the Env of the running host for cfg, reading the test
// hook FuseDevEnv through getenv.
func System(cfg *config.Config, getenv func(string) string) *Env {
	dev := "/dev/fuse"
	if d := getenv(FuseDevEnv); d != "" {
		dev = d
	}
	return &Env{
		ReadFile:    os.ReadFile,
		FuseDev:     dev,
		OpenRW:      openRW,
		Kernel:      kernelRelease,
		Probe:       Probe,
		LookPath:    exec.LookPath,
		Output:      output,
		Config:      cfg,
		Home:        getenv("HOME"),
		Stat:        os.Stat,
		Writable:    func(name string) bool { return unix.Access(name, unix.W_OK) == nil },
		OpenRepo:    repo.Open,
		FUSEServer:  getenv(squashfs.MountEnv),
		UnpackCache: unpackCache,
		UnpackMax:   unpack.MaxMiB,
	}
}

func unpackCache() (string, bool, int64, error) {
	dir, exists, err := unpack.Inspect()
	if err != nil {
		return dir, exists, 0, err
	}
	var st unix.Statfs_t
	for d := dir; ; d = filepath.Dir(d) {
		if err := unix.Statfs(d, &st); err == nil || d == filepath.Dir(d) {
			break
		}
	}
	return dir, exists, int64(st.Bavail) * st.Bsize, nil
}

func openRW(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// output runs prog with a time limit: a broken srun waiting for its
// controller must not hang `pcocc check`.
func output(ctx context.Context, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// nearestExisting returns path or its closest existing ancestor.
func nearestExisting(e *Env, path string) string {
	for p := path; ; p = filepath.Dir(p) {
		if _, err := e.Stat(p); err == nil || p == filepath.Dir(p) {
			return p
		}
	}
}
