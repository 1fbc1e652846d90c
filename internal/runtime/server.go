package runtime

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/containerinit"
)

// startServer serves the image's squashfs from this process (sqfuse, in
// goroutines) when the plan says so (ImageServed; see imageMount). Init mounts /dev/fuse and sends the descriptor over the socket
// it gets as fd 5 (MountSqfuseSend); fd 6 is the log where a failure to read
// the image is written, which init reports. The FUSE connection ends with
// the container's mount namespace, or when this process dies (SIGKILL
// included): the kernel then aborts it, and init dies of its parent death
// signal. A server whose init died before sending anything sees its socket
// close, and returns.
func startServer(cfg *containerinit.Config, cmd *exec.Cmd, o Options) error {
	if cfg.Image != containerinit.ImageServed {
		return nil
	}
	if o.Images == nil {
		return fmt.Errorf("image %q: this program cannot serve it with FUSE", cfg.Spec.Image)
	}
	image, err := os.Open(cfg.Spec.Rootfs)
	if err != nil {
		return fmt.Errorf("image %q: %w", cfg.Spec.Image, err)
	}
	initLog, serverLog, err := serverLogs()
	if err != nil {
		image.Close()
		return err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		image.Close()
		initLog.Close()
		serverLog.Close()
		return err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sqfuse-socket"), os.NewFile(uintptr(fds[1]), "sqfuse-socket")
	go func() {
		defer serverLog.Close()
		defer image.Close()
		_ = o.Images.ServeSent(image, cfg.Spec.Rootfs, ours, serverLog, o.Stderr)
	}()
	cmd.ExtraFiles = append(cmd.ExtraFiles, theirs, initLog)
	return nil
}

// serverLogs makes the in-memory log where the server reports an image it
// cannot read: one descriptor for init (the launcher closes its copies of
// init's descriptors once init has them), one for the server.
func serverLogs() (forInit, forServer *os.File, err error) {
	fd, err := unix.MemfdCreate("sqfuse-log", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the squashfs server's log: %w", err)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "sqfuse-log"), os.NewFile(uintptr(dup), "sqfuse-log"), nil
}
