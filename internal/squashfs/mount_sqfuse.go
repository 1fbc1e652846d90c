package squashfs

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/tools"
)

// MountEnv names the environment variable that chooses how unprivileged
// runs mount images (a Mode). Root always uses the kernel's squashfs.
const MountEnv = "PCOCC_SQUASHFS_MOUNT"

// Mode is how unprivileged runs mount images: the value of MountEnv, read
// once per launch (ModeFromEnv) into its plan.
type Mode string

// The modes.
const (
	// ModeAuto, the default: ModeUnpack for images small enough
	// (unpack.Small, unpack.Room), the default server for the others.
	ModeAuto Mode = "auto"
	// ModeUnpack is no server: pcocc run bind-mounts the image unpacked in
	// a node-local cache (internal/unpack); other squashfs mounts (of
	// modules) get the default server.
	ModeUnpack Mode = "unpack"
	// ModeSqfuse: pcocc's own FUSE server (internal/sqfuse), the default
	// server (see docs/benchmarks.md).
	ModeSqfuse Mode = "sqfuse"
	// ModeSquashfuse: squashfuse_ll.
	ModeSquashfuse Mode = "squashfuse_ll"
)

// ParseMode reads a MountEnv value ("" is ModeAuto).
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeAuto, nil
	case ModeAuto, ModeUnpack, ModeSqfuse, ModeSquashfuse:
		return m, nil
	}
	return "", fmt.Errorf("%s=%q: unknown way to mount images (known: %s, %s, %s, %s)", MountEnv, s,
		ModeAuto, ModeUnpack, ModeSqfuse, ModeSquashfuse)
}

// ModeFromEnv is ParseMode of this process's MountEnv.
func ModeFromEnv() (Mode, error) { return ParseMode(os.Getenv(MountEnv)) }

// Squashfuse returns the FUSE server program that mode runs for squashfs
// mounts: the path of squashfuse_ll (an error says how to install it when
// it is missing), or "" for pcocc's own server.
func (m Mode) Squashfuse() (string, error) {
	if m == ModeSquashfuse {
		return tools.Find(string(ModeSquashfuse))
	}
	return "", nil
}

// SqfuseArg is argv[1] of a program that serves a squashfs with pcocc's own
// server: sqfuse.Arg, which this package does not import, so that the
// container init stays small (cmd/pcocc-init); a test checks they agree.
const SqfuseArg = "__pcocc_sqfuse"

// MountServer mounts image on target with a FUSE server: squashfuse_ll
// when squashfuse is its path, else pcocc's own, run from sqfuse, a binary
// that handles SqfuseArg ("": the running one; the container init, a
// smaller program of its own, gets pcocc's path from the launcher).
func MountServer(squashfuse, sqfuse string, image *os.File, target string, o MountOptions, log *os.File) (*FUSEServer, error) {
	if squashfuse != "" {
		return MountFUSE(squashfuse, image, target, o, log)
	}
	if sqfuse == "" {
		sqfuse = "/proc/self/exe"
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
// that handles SqfuseArg), with an empty environment: it needs none.
func sqfuseCommand(program string, o MountOptions, fd3, image, log *os.File) *exec.Cmd {
	cmd := serverCommand(program, []string{SqfuseArg}, o, fd3, image, log)
	cmd.Args[0] = "pcocc-sqfuse" // what ps shows
	cmd.Env = []string{}
	return cmd
}
