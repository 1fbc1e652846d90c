package containerinit

import (
	"encoding/json"
	"io"
	"os"
	"syscall"

	"github.com/pcocc/pcocc/internal/container"
)

// InitArg is argv[1] of the program that runs Init: pcocc-init (installed
// next to pcocc, see cmd/pcocc-init), or pcocc itself.
const InitArg = "__pcocc_init"

// Protocol versions Config and StatusMsg: bump it when either changes.
const Protocol = 5

// Descriptors the launcher gives init (os/exec's ExtraFiles start at 3).
const (
	configFD = 3 // launcher → init: the Config, JSON, then EOF
	statusFD = 4 // init → launcher: StatusMsg lines, then EOF
	// With Config.Server: the socket on which the image's sqfuse server
	// (the launcher itself) waits for the /dev/fuse descriptor, and the log
	// where it reports an image it cannot read.
	serverSockFD = 5
	serverLogFD  = 6
)

// ImageMount is how init mounts the image: decided by the launcher, once,
// in the plan it sends (runtime.imageMount).
type ImageMount string

// The ways to mount the image.
const (
	ImageNone ImageMount = "none" // no image: the host's root (Spec.HostRoot)
	// ImageKernel: the caller is root; the kernel's squashfs, on a loop
	// device.
	ImageKernel ImageMount = "kernel"
	// ImageUnpacked: the image's tree unpacked in the node-local cache
	// (squashfs.ModeUnpack), bind-mounted read-only instead of the
	// squashfs: Config.Unpacked, if it is still Config.UnpackedID.
	ImageUnpacked ImageMount = "unpacked"
	// ImageKernelTree: under Slurm, the plugin mounted the image with the
	// kernel's squashfs (spank/kernel.c) in the launcher's mount namespace,
	// at Config.Unpacked, checked like an unpacked tree (Config.UnpackedID).
	ImageKernelTree ImageMount = "kernel-tree"
	// ImageServed: FUSE, served by the launcher's sqfuse (it starts while
	// init does; see runtime/server.go), which waits on serverSockFD.
	ImageServed ImageMount = "served"
	// ImageFUSE: FUSE, served by a server init starts (Config.Squashfuse).
	ImageFUSE ImageMount = "fuse"
)

// Config is what init needs: the plan, plus what the launcher found out.
type Config struct {
	Spec *container.Spec `json:"spec"`
	// Protocol must be this package's Protocol: pcocc and a pcocc-init of
	// another version refuse to work together.
	Protocol int `json:"protocol"`
	// Image is how to mount the image.
	Image ImageMount `json:"image"`
	// Squashfuse is the absolute path of squashfuse_ll, the FUSE server of
	// the squashfs mounts init makes itself; empty: pcocc's own (sqfuse).
	Squashfuse string `json:"squashfuse,omitempty"`
	// SqfuseExe is the pcocc binary, which serves squashfs images with
	// sqfuse (squashfs.SqfuseArg) for the mounts init makes itself.
	SqfuseExe string `json:"sqfuse_exe,omitempty"`
	// Unpacked and UnpackedID, with ImageUnpacked: the image's unpacked
	// tree, and its device and inode as the launcher checked them (see
	// unpack.Entry.ID); with ImageKernelTree, the root of the plugin's mount.
	Unpacked   string    `json:"unpacked,omitempty"`
	UnpackedID [2]uint64 `json:"unpacked_id"`
	// Kernel: the caller is root; use the kernel's squashfs and no user
	// namespace.
	Kernel bool `json:"kernel,omitempty"`
	// Hold: run no program; once the root is built, init reports its own
	// pid and sleeps until killed, for Slurm tasks to join (hold.go).
	Hold bool `json:"hold,omitempty"`
	// Skip lists the indexes in Spec.Mounts of optional mounts whose source
	// is missing.
	Skip []int `json:"skip,omitempty"`
}

// StatusMsg is one line from init to the launcher.
type StatusMsg struct {
	Pid     int    `json:"pid,omitempty"`     // the program started
	Warning string `json:"warning,omitempty"` // something the user should know
	Error   string `json:"error,omitempty"`   // the launch failed...
	Code    int    `json:"code,omitempty"`    // ...with this exit code
}

// statusWriter sends StatusMsg lines; nil-safe after close.
type statusWriter struct{ f *os.File }

func (w *statusWriter) send(m StatusMsg) {
	if w == nil || w.f == nil {
		return
	}
	b, _ := json.Marshal(m)
	_, _ = w.f.Write(append(b, '\n'))
}

func (w *statusWriter) close() {
	if w != nil && w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}

func readConfig(r io.Reader) (*Config, error) {
	var c Config
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Forwarded are the signals the launcher passes on to the program; init
// ignores them (its death would kill the program).
var Forwarded = []os.Signal{
	syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
	syscall.SIGINT, syscall.SIGQUIT,
}
