package sqfuse

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// Arg is argv[1] of the re-executed pcocc that serves a squashfs: `pcocc
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
	// While waiting for the device (when it comes over a socket): parse the
	// root and its entries, which the container's set-up looks up first;
	// this also readies the decompressor. Best effort; the caches are safe
	// to share with the requests.
	go warm(img)
	if pos[1], err = receiveDevice(pos[1]); err != nil {
		return err
	}
	opts := mountOptions(img, pos[0])
	// For a directory: mount(2) when allowed, else fusermount3. Never for
	// /dev/fd/N (mounted already): go-fuse would try to mount on that path,
	// which succeeds in a user namespace and serves a mount nobody uses.
	opts.DirectMount = !strings.HasPrefix(pos[1], "/dev/fd/")
	srv, err := fuse.NewServer(newRawFS(img), pos[1], opts)
	if err != nil {
		return fmt.Errorf("mounting on %s: %w", pos[1], err)
	}
	srv.Serve()
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
	s, ok := strings.CutPrefix(p, "/dev/fd/")
	if !ok {
		return p, nil
	}
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 0 {
		return p, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return p, nil
	}
	defer syscall.Close(fd)
	oob := make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := syscall.Recvmsg(fd, make([]byte, 1), oob, syscall.MSG_CMSG_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("receiving the FUSE descriptor: %w", err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return "", errors.New("receiving the FUSE descriptor: none received (the container did not start)")
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return "", errors.New("receiving the FUSE descriptor: bad message")
	}
	return "/dev/fd/" + strconv.Itoa(fds[0]), nil
}

// openArg opens IMAGE: /dev/fd/N is the inherited descriptor itself (its
// path may be out of reach in the caller's mount namespace).
func openArg(p string) (*os.File, error) {
	if s, ok := strings.CutPrefix(p, "/dev/fd/"); ok {
		if fd, err := strconv.Atoi(s); err == nil && fd >= 0 {
			syscall.CloseOnExec(fd)
			return os.NewFile(uintptr(fd), p), nil
		}
	}
	return os.Open(p)
}

func mountOptions(img *Image, name string) *fuse.MountOptions {
	return &fuse.MountOptions{
		FsName: name,
		// Every request and reply on stderr, to see what the kernel asks.
		Debug: os.Getenv("PCOCC_SQFUSE_DEBUG") != "",
		Name:  "sqfuse",
		// Requests of up to 1 MiB: fewer round trips for large reads.
		MaxWrite: 1 << 20,
		// Enough asynchronous (readahead) requests in flight for every
		// CPU to decompress.
		MaxBackground: 64,
		// The image never changes: symlink targets cached in the page
		// cache, no cache invalidation on attribute changes.
		EnableSymlinkCaching:     true,
		ExplicitDataCacheControl: true,
		DisableXAttrs:            !img.hasXattrs(),
		// A directory mount point: read-only, no set-uid, no devices.
		DirectMountFlags: syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV,
	}
}
