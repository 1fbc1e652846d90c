package squashfs

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// FUSEServer is a running squashfuse_ll serving one mount.
type FUSEServer struct {
	cmd  *exec.Cmd // nil: a server this process did not start
	name string    // for messages when cmd is nil
	log  *os.File
}

// MountFUSE mounts the squashfs image (an open file) read-only, nosuid and
// nodev on target, served by squashfuse_ll, the program at squashfuse.
//
// The caller does the mount(2) itself, on a /dev/fuse descriptor it then
// hands to squashfuse_ll as "/dev/fd/N" (libfuse ≥ 3.3): so the flags are
// ours, no fusermount3 is involved, and the mount exists before the server
// starts, with no polling. The caller needs CAP_SYS_ADMIN in the user
// namespace that owns its mount namespace (userns root works: FUSE is
// mountable in user namespaces).
//
// The server gets SIGKILL when the calling thread dies (keep it locked), and
// runs in its own process group, out of reach of the terminal's signals.
// log receives its messages (a file in a tmpfs, read back on failure).
func MountFUSE(squashfuse string, image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	dev, err := mountFUSEDevice(image, target, "fuse.squashfuse_ll")
	if err != nil {
		return nil, err
	}
	defer dev.Close() // the server holds its own copy; ours must go, see Ready
	cmd := serverCommand(squashfuse, []string{"-f"}, o, dev, image, log)
	if err := cmd.Start(); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return nil, fmt.Errorf("starting %s: %w", squashfuse, err)
	}
	return &FUSEServer{cmd: cmd, log: log}, nil
}

// Ready waits until the mount at target answers. When the server failed (a
// corrupt image), the kernel aborts the connection as soon as the server's
// descriptor closes, so the first access fails at once with ENOTCONN: the
// error then carries what the server said.
func (s *FUSEServer) Ready(target string) error {
	var st unix.Stat_t
	err := unix.Stat(target, &st)
	if err == nil {
		return nil
	}
	s.Stop()
	msg := s.messages()
	if msg == "" {
		msg = err.Error()
	}
	name := s.name
	if s.cmd != nil {
		name = filepath.Base(s.cmd.Args[0])
	}
	return fmt.Errorf("%s: %s", name, msg)
}

func (s *FUSEServer) messages() string {
	if s.log == nil {
		return ""
	}
	b, _ := io.ReadAll(io.NewSectionReader(s.log, 0, 1<<20))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\n", "; "))
}

// Stop kills the server and reaps it. A squashfs mount holds no state, so
// SIGKILL loses nothing; the mount itself goes with the mount namespace.
func (s *FUSEServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Pid is the server's process id.
func (s *FUSEServer) Pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// mountFUSEDevice opens /dev/fuse and mounts it on target (read-only,
// nosuid, nodev) with the image as source: the mount exists before any
// server runs. The caller hands the returned device to its server.
func mountFUSEDevice(image *os.File, target, fstype string) (*os.File, error) {
	dev, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/fuse: %w", err)
	}
	data := fmt.Sprintf("fd=%d,rootmode=40000,user_id=%d,group_id=%d,default_permissions,allow_other",
		dev.Fd(), os.Getuid(), os.Getgid())
	err = unix.Mount(image.Name(), target, fstype, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, data)
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("mounting %s on %s: %w", image.Name(), target, err)
	}
	return dev, nil
}

// serverCommand is the command line of a squashfuse_ll-style server: fd 3
// is the FUSE device (or a socket that will carry it), fd 4 the image,
// opened by the caller (its path may not be reachable any more when the
// server starts). It dies with the calling thread (keep it locked) and has
// its own process group, out of reach of the terminal's signals.
func serverCommand(program string, first []string, o MountOptions, fd3, image, log *os.File) *exec.Cmd {
	args := first
	if o.Offset != 0 {
		args = append(args, "-o", "offset="+strconv.FormatInt(o.Offset, 10))
	}
	args = append(args, "/dev/fd/4", "/dev/fd/3")
	cmd := exec.Command(program, args...)
	cmd.ExtraFiles = []*os.File{fd3, image}
	cmd.Stderr, cmd.Stdout = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}
