package sqfuse

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Arg is argv[1] of the pcocc that serves a squashfs as a program: `pcocc
// __pcocc_sqfuse [-o offset=N] IMAGE MOUNT`, the command line of squashfuse_ll.
// IMAGE is a path or /dev/fd/N; MOUNT is /dev/fd/N, a /dev/fuse descriptor
// already mounted by the caller (pcocc run's init), or a directory to mount
// on (benchmarks, tests: mount(2) when privileged, else fusermount3).
const Arg = "__pcocc_sqfuse"

// Main runs the server until the file system is unmounted; it returns the
// process's exit status.
func Main(args []string) int {
	log.SetFlags(0)
	if err := serve(args); err != nil {
		fmt.Fprintf(os.Stderr, "sqfuse: %v\n", err)
		return 1
	}
	return 0
}

func serve(args []string) error {
	var offset int64
	var pos []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-f": // squashfuse_ll's "foreground": always so
		case a == "-o" && i+1 < len(args):
			i++
			for _, o := range strings.Split(args[i], ",") {
				v, ok := strings.CutPrefix(o, "offset=")
				if !ok {
					return fmt.Errorf("unknown option %q", o)
				}
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 0 {
					return fmt.Errorf("bad offset %q", v)
				}
				offset = n
			}
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return errors.New("usage: " + Arg + " [-o offset=N] IMAGE MOUNTPOINT")
	}
	f, err := openArg(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	img, err := Open(f, offset)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if err := startWarm(img); err != nil {
		return err
	}
	if pos[1], err = receiveDevice(pos[1]); err != nil {
		return err
	}
	return serveOn(img, pos[1], pos[0], log.Default())
}

// ServeSent serves the squashfs image on the /dev/fuse descriptor that
// arrives on sock (closed on return), as `pcocc __pcocc_sqfuse IMAGE
// /dev/fd/SOCK` does, but in the calling process: pcocc run serves its
// container's image itself, from the launcher, so that no server process
// has to start. It returns when the file system goes away (the container's
// mount namespace is gone), or when the sender closes its end without
// sending. An image it cannot read is reported on setupLog (as the server process
// would on its standard error); the descriptor, once it came, is then
// closed unserved, which aborts the mount: the sender's first access fails
// and it reads setupLog. Errors while serving (a damaged image) go to runLog.
func ServeSent(image io.ReaderAt, name string, sock *os.File, setupLog, runLog io.Writer) error {
	defer sock.Close()
	img, openErr := Open(image, 0)
	if openErr != nil {
		openErr = fmt.Errorf("%s: %w", name, openErr)
	} else {
		openErr = startWarm(img)
	}
	if openErr != nil {
		fmt.Fprintf(setupLog, "sqfuse: %v\n", openErr)
	}
	fd, err := receiveFD(sock)
	if err != nil {
		return errors.Join(openErr, err)
	}
	if openErr != nil {
		syscall.Close(fd)
		return openErr
	}
	return serveOn(img, "/dev/fd/"+strconv.Itoa(fd), name, log.New(runLog, "", 0))
}

// serveOn serves img on dev: a directory, or /dev/fd/N (a /dev/fuse
// descriptor its sender has mounted already).
func serveOn(img *Image, dev, name string, l *log.Logger) error {
	relaxGC()
	atLeastTwoPs()
	fd, err := fuseFD(dev, name)
	if err != nil {
		return fmt.Errorf("mounting on %s: %w", dev, err)
	}
	defer syscall.Close(fd)
	var debug *log.Logger
	if os.Getenv("PCOCC_SQFUSE_DEBUG") != "" { // every request and reply, to see what the kernel asks
		debug = log.New(os.Stderr, "", log.Lmicroseconds)
	}
	err = newLoop(newRawFS(img, l), fd, debug).run()
	img.stopPrefetch()
	return err
}

// atLeastTwoPs gives the Go scheduler two Ps, also where the process may
// run on one CPU only (a Slurm task bound to a core): with one, the request
// loop's P is taken back by sysmon at every read that blocks (no P is idle),
// which costs a thread hand-off and context switches per request: a cold
// find on one CPU took 15% longer (docs/benchmarks.md).
func atLeastTwoPs() {
	if runtime.GOMAXPROCS(0) < 2 {
		runtime.GOMAXPROCS(2)
	}
}

// relaxGC stops garbage collections for the first seconds of a mount,
// unless the heap reaches startGCLimit. A fresh mount decompresses a few MiB
// at once (a program and its libraries), which made the Go runtime collect
// several times while the program waited: 2 of the 9 ms of a cold start of
// busybox's true. After startGCTime the usual collector comes back, so that
// a long job's server stays small. It applies to the whole process: the
// server's, or pcocc run's launcher, which serves its container's image.
func relaxGC() {
	limit := debug.SetMemoryLimit(startGCLimit)
	percent := debug.SetGCPercent(-1)
	time.AfterFunc(startGCTime, func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

const (
	startGCLimit = 64 << 20
	startGCTime  = 2 * time.Second
)

// startWarm starts, in the background, what makes the first requests
// fast: the preload of the tables (within PreloadEnv's bound), and the
// parse of the root and its entries, which the container's set-up looks up
// first (this also readies the decompressor). It runs while the server waits
// for the device, when it comes over a socket. Best effort: a preload that
// fails leaves the requests to read on demand, and to report what is
// damaged; the caches are safe to share with the requests.
func startWarm(img *Image) error {
	limit, err := PreloadLimit()
	if err != nil {
		return err
	}
	_, _ = img.Preload(limit)
	go warm(img)
	return nil
}

// warm parses the root directory and the inodes of its entries.
func warm(img *Image) {
	root, err := img.inode(img.sb.RootInode)
	if err != nil {
		return
	}
	ents, err := img.readDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		_, _ = img.inode(e.ref)
	}
}

// receiveDevice returns MOUNT, or, when MOUNT is /dev/fd/N and N a socket,
// "/dev/fd/M" with M the mounted /dev/fuse descriptor received on it (pcocc
// run starts the server before its container init has mounted anything, so
// that both start in parallel; see internal/runtime).
func receiveDevice(p string) (string, error) {
	fd, ok := fdArg(p)
	if !ok {
		return p, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return p, nil
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	got, err := receiveFD(f)
	if err != nil {
		return "", err
	}
	return "/dev/fd/" + strconv.Itoa(got), nil
}

// receiveFD receives one descriptor (close-on-exec) on the socket sock.
func receiveFD(sock *os.File) (int, error) {
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := syscall.Recvmsg(int(sock.Fd()), make([]byte, 1), oob, syscall.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("receiving the FUSE descriptor: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, errors.New("receiving the FUSE descriptor: none received (the container did not start)")
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, errors.New("receiving the FUSE descriptor: bad message")
	}
	return fds[0], nil
}

// openArg opens IMAGE: /dev/fd/N is the inherited descriptor itself (its
// path may be out of reach in the caller's mount namespace).
func openArg(p string) (*os.File, error) {
	if fd, ok := fdArg(p); ok {
		syscall.CloseOnExec(fd)
		return os.NewFile(uintptr(fd), p), nil
	}
	return os.Open(p)
}

// fdArg is N of a command-line argument /dev/fd/N.
func fdArg(p string) (int, bool) {
	s, ok := strings.CutPrefix(p, "/dev/fd/")
	if !ok {
		return -1, false
	}
	fd, err := strconv.Atoi(s)
	return fd, err == nil && fd >= 0
}
