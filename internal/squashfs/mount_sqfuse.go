package squashfs

import (
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfuse"
	"github.com/pcocc/pcocc/internal/tools"
)

// MountEnv names the environment variable that chooses the FUSE server of
// unprivileged mounts: "sqfuse" (pcocc's own, see internal/sqfuse) or
// "squashfuse_ll". Root always uses the kernel's squashfs.
const MountEnv = "PCOCC_SQUASHFS_MOUNT"

// Server names accepted in MountEnv.
const (
	ServerSqfuse     = "sqfuse"
	ServerSquashfuse = "squashfuse_ll"
	DefaultServer    = ServerSqfuse // see docs/benchmarks.md
	// ServerUnpack is no server: pcocc run bind-mounts the image unpacked
	// in a node-local cache (internal/unpack); other squashfs mounts (of
	// modules) get the default server.
	ServerUnpack = "unpack"
)

// SelfServer is the program FUSEProgram gives for sqfuse: the running
// binary, re-executed with sqfuse.Arg. Resolved by the process that starts
// the server (the container init: pcocc itself, or a test binary that
// handles sqfuse.Arg).
const SelfServer = "/proc/self/exe"

// FUSEProgram returns the FUSE server program that MountServer should run,
// for a MountEnv value ("" is DefaultServer): SelfServer, or the path of
// squashfuse_ll (an error says how to install it when it is missing).
func FUSEProgram(choice string) (string, error) {
	switch choice {
	case "":
		return FUSEProgram(DefaultServer)
	case ServerSqfuse:
		return SelfServer, nil
	case ServerSquashfuse:
		return tools.Find(ServerSquashfuse)
	case ServerUnpack:
		return FUSEProgram(DefaultServer)
	}
	return "", fmt.Errorf("%s=%q: unknown FUSE server (known: %s, %s, %s)", MountEnv, choice, ServerSqfuse, ServerSquashfuse, ServerUnpack)
}

// MountServer mounts image on target with the FUSE server program that
// FUSEProgram returned: pcocc's own for SelfServer, else squashfuse_ll.
func MountServer(program string, image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	if program != SelfServer {
		return MountFUSE(program, image, target, o, log)
	}
	return MountSqfuse(image, target, o, log)
}

// MountSqfuse is MountFUSE with pcocc's own server (a re-executed
// /proc/self/exe, so that the caller stays single-threaded): the same
// mount(2) on a /dev/fuse descriptor the server inherits as fd 3, the image
// as fd 4, the same flags, parent-death signal and process group.
func MountSqfuse(image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	dev, err := mountFUSEDevice(image, target, "fuse.sqfuse")
	if err != nil {
		return nil, err
	}
	defer dev.Close() // the server holds its own copy (see FUSEServer.Ready)
	cmd := sqfuseCommand(SelfServer, o, dev, image, log)
	if err := cmd.Start(); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return nil, fmt.Errorf("starting the squashfs server: %w", err)
	}
	return &FUSEServer{cmd: cmd, log: log}, nil
}

// StartSqfuse starts pcocc's own server (program: /proc/self/exe or a binary
// that handles sqfuse.Arg) for image before anything is mounted, so that it
// starts while the caller prepares the mount: the server opens the image,
// then waits for the mounted /dev/fuse descriptor on the socket it gets as
// fd 3, which MountSqfuseSend sends. It returns the process and the other
// end of the socket. The server has the caller's parent-death signal (keep
// the thread locked) and its own process group; log receives its messages.
func StartSqfuse(program string, image *os.File, o MountOptions, log *os.File) (*exec.Cmd, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sqfuse-socket"), os.NewFile(uintptr(fds[1]), "sqfuse-socket")
	defer theirs.Close()
	cmd := sqfuseCommand(program, o, theirs, image, log)
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, nil, fmt.Errorf("starting the squashfs server: %w", err)
	}
	return cmd, ours, nil
}

// ServeSent serves image in the calling process on the /dev/fuse descriptor
// that MountSqfuseSend sends over sock: see sqfuse.ServeSent.
func ServeSent(image *os.File, name string, sock *os.File, log, runLog io.Writer) error {
	return sqfuse.ServeSent(image, name, sock, log, runLog)
}

// MountSqfuseSend is MountSqfuse for a server that StartSqfuse started:
// the same mount(2), then the /dev/fuse descriptor goes to the server over
// sock (closed on return). The FUSEServer it returns does not own the
// process (Stop does nothing: its starter stops it); log is the server's.
func MountSqfuseSend(sock *os.File, image *os.File, target string, log *os.File) (*FUSEServer, error) {
	defer sock.Close()
	dev, err := mountFUSEDevice(image, target, "fuse.sqfuse")
	if err != nil {
		return nil, err
	}
	defer dev.Close() // the server holds its own copy (see FUSEServer.Ready)
	srv := &FUSEServer{name: "pcocc-sqfuse", log: log}
	if err := unix.Sendmsg(int(sock.Fd()), []byte{0}, unix.UnixRights(int(dev.Fd())), nil, 0); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		msg := srv.messages()
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("pcocc-sqfuse: %s", msg)
	}
	return srv, nil
}

// sqfuseCommand is pcocc's own server (program: /proc/self/exe or a binary
// that handles sqfuse.Arg), with an empty environment: it needs none.
func sqfuseCommand(program string, o MountOptions, fd3, image, log *os.File) *exec.Cmd {
	cmd := serverCommand(program, []string{sqfuse.Arg}, o, fd3, image, log)
	cmd.Args[0] = "pcocc-sqfuse" // what ps shows
	cmd.Env = []string{}
	return cmd
}
