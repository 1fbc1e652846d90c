package squashfs

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/tools"
)

// MountEnv names the environment variable that chooses how unprivileged
// runs mount images: "auto" (the default), "unpack" (see internal/unpack),
// or a FUSE server, "sqfuse" (pcocc's own, see internal/sqfuse) or
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
	// ServerAuto, the default: ServerUnpack for images small enough
	// (unpack.Small, unpack.Room), DefaultServer for the others.
	ServerAuto = "auto"
)

// SqfuseArg is argv[1] of a program that serves a squashfs with pcocc's own
// server: sqfuse.Arg, which this package does not import, so that the
// container init stays small (cmd/pcocc-init); a test checks they agree.
const SqfuseArg = "__pcocc_sqfuse"

// SelfServer is the program FUSEProgram gives for sqfuse: a binary that
// handles SqfuseArg. MountServer runs the one it is given (the container
// init gets pcocc's path from the launcher), or the running binary.
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
	case ServerUnpack, ServerAuto:
		return FUSEProgram(DefaultServer)
	}
	return "", fmt.Errorf("%s=%q: unknown way to mount images (known: %s, %s, %s, %s)", MountEnv, choice,
		ServerAuto, ServerUnpack, ServerSqfuse, ServerSquashfuse)
}

// MountServer mounts image on target with the FUSE server program that
// FUSEProgram returned: pcocc's own for SelfServer, else squashfuse_ll.
// For SelfServer, sqfuse is the binary that serves it: "" is the running
// one (/proc/self/exe); the container init, a smaller program of its own,
// gets pcocc's path from the launcher.
func MountServer(program, sqfuse string, image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	if program != SelfServer {
		return MountFUSE(program, image, target, o, log)
	}
	if sqfuse == "" {
		sqfuse = SelfServer
	}
	return MountSqfuse(sqfuse, image, target, o, log)
}

// MountSqfuse is MountFUSE with pcocc's own server (program: pcocc, or a
// binary that handles SqfuseArg, in a process of its own): the same
// mount(2) on a /dev/fuse descriptor the server inherits as fd 3, the image
// as fd 4, the same flags, parent-death signal and process group.
func MountSqfuse(program string, image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	dev, err := mountFUSEDevice(image, target, "fuse.sqfuse")
	if err != nil {
		return nil, err
	}
	defer dev.Close() // the server holds its own copy (see FUSEServer.Ready)
	cmd := sqfuseCommand(program, o, dev, image, log)
	if err := cmd.Start(); err != nil {
		_ = unix.Unmount(target, unix.MNT_DETACH)
		return nil, fmt.Errorf("starting the squashfs server: %w", err)
	}
	return &FUSEServer{cmd: cmd, log: log}, nil
}

// MountSqfuseSend is MountSqfuse for a server that already runs (pcocc
// run's launcher, sqfuse.ServeSent): the same mount(2), then the /dev/fuse
// descriptor goes to the server over sock (closed on return). The
// FUSEServer it returns owns no process (Stop does nothing); log is where
// the server reports an image it cannot read.
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
	cmd := serverCommand(program, []string{SqfuseArg}, o, fd3, image, log)
	cmd.Args[0] = "pcocc-sqfuse" // what ps shows
	cmd.Env = []string{}
	return cmd
}
