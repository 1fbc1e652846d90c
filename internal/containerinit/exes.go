package containerinit

import (
	"fmt"
	"os"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
)

// minExeFD: the descriptors of the programs init runs are kept at or above
// it, out of the way of the ones a server is given (fd 3 and 4: os/exec
// would dup those over a lower one before the execve that needs it).
const minExeFD = 16

// pinExecutables opens the FUSE servers that init may start (pcocc for
// sqfuse, squashfuse_ll) before anything covers the host's paths (the scratch
// tmpfs covers /tmp, where pcocc may well be installed), and points cfg at
// them through /proc/self/fd: a child execs the very file opened here,
// whatever is mounted on its path since. The files are closed by the
// returned function, once the servers run.
func pinExecutables(cfg *Config) (func(), error) {
	var files []*os.File
	done := func() {
		for _, f := range files {
			f.Close()
		}
	}
	if !startsServers(cfg) {
		return done, nil
	}
	for _, p := range []*string{&cfg.SqfuseExe, &cfg.Squashfuse} {
		if *p == "" {
			continue
		}
		f, err := openExecutable(*p)
		if err != nil {
			done()
			return nil, err
		}
		files = append(files, f)
		*p = "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	}
	return done, nil
}

func openExecutable(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the squashfs server %s: %w", path, err)
	}
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minExeFD)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("opening the squashfs server %s: %w", path, err)
	}
	return os.NewFile(uintptr(high), path), nil
}

// startsServers: whether init will start a FUSE server, for the image or
// for a squashfs mount. As root the kernel mounts them all.
func startsServers(cfg *Config) bool {
	if cfg.Kernel {
		return false
	}
	if cfg.Image == ImageFUSE {
		return true
	}
	for i, m := range cfg.Spec.Mounts {
		if m.Type == container.MountSquashfs && !slices.Contains(cfg.Skip, i) {
			return true
		}
	}
	return false
}
