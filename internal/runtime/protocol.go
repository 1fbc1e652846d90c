package runtime

import (
	"encoding/json"
	"io"
	"os"

	"github.com/pcocc/pcocc/internal/container"
)

// InitArg is argv[1] of the re-executed pcocc that runs Init.
const InitArg = "__pcocc_init"

// Descriptors the launcher gives init (os/exec's ExtraFiles start at 3).
const (
	configFD = 3 // launcher → init: the initConfig, JSON, then EOF
	statusFD = 4 // init → launcher: statusMsg lines, then EOF
	// With initConfig.Server: the socket on which the image's sqfuse server
	// (started by the launcher) waits for the /dev/fuse descriptor, and the
	// server's log.
	serverSockFD = 5
	serverLogFD  = 6
)

// Exit codes of pcocc run's own failures (like docker run's).
const (
	CodeSetup       = 125 // the container could not be set up
	CodeNotExec     = 126 // the command exists but cannot be executed
	CodeNotFound    = 127 // the command was not found in the container
	codeSignalShift = 128 // 128+N: killed by signal N
)

// initConfig is what init needs: the plan, plus what the launcher found out.
type initConfig struct {
	Spec *container.Spec `json:"spec"`
	// Squashfuse is the absolute path of squashfuse_ll; empty with Kernel.
	Squashfuse string `json:"squashfuse,omitempty"`
	// Server: the launcher started the image's sqfuse server (it starts
	// while init does; see launch.go), which waits on serverSockFD.
	Server bool `json:"server,omitempty"`
	// Unpacked: the image's tree unpacked in the node-local cache
	// (PCOCC_SQUASHFS_MOUNT=unpack), bind-mounted read-only instead of the
	// squashfs.
	Unpacked string `json:"unpacked,omitempty"`
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

// statusMsg is one line from init to the launcher.
type statusMsg struct {
	Pid     int    `json:"pid,omitempty"`     // the program started
	Warning string `json:"warning,omitempty"` // something the user should know
	Error   string `json:"error,omitempty"`   // the launch failed...
	Code    int    `json:"code,omitempty"`    // ...with this exit code
}

// statusWriter sends statusMsg lines; nil-safe after close.
type statusWriter struct{ f *os.File }

func (w *statusWriter) send(m statusMsg) {
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

func readConfig(r io.Reader) (*initConfig, error) {
	var c initConfig
	if err := json.NewDecoder(r).Decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}
