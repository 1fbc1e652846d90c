package runtime

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/squashfs"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// testHoldArg makes the test binary a holder (pcocc __spank start) of the
// spec in a file: it prints init's pid once the container is ready, and
// stops it when its stdin ends. Hold makes its caller a child subreaper
// and reaps every child: not something to do in the test process itself.
const testHoldArg = "__test_hold"

func testHold(specFile string) int {
	spec, err := readSpec(specFile)
	if err != nil {
		return 99
	}
	stop := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(stop)
	}()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 99
	}
	err = Hold(spec, Options{Images: sqfuse.InProcess{}, Stdin: devnull, InitPath: "/proc/self/exe", InitArgs: []string{containerinit.InitArg}},
		func(h Held) error {
			_, err := fmt.Printf("%d\n", h.Init)
			return err
		}, stop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcocc:", err)
		return exitcode.Of(err)
	}
	return 0
}

// TestHold: the held container is built by the launch core Run uses, its
// root is the image, and it is gone once stopped; with every way to mount
// the image.
func TestHold(t *testing.T) {
	requireUnprivileged(t)
	for _, mode := range []squashfs.Mode{squashfs.ModeUnpack, squashfs.ModeSqfuse, squashfs.ModeSquashfuse} {
		t.Run(string(mode), func(t *testing.T) {
			spec := launch{opts: container.Options{Args: []string{"true"}}}.spec(t)
			cmd := specHelperCmd(t, testHoldArg, spec)
			cmd.Env = append(os.Environ(), squashfs.MountEnv+"="+string(mode))
			cmd.Stderr = os.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			line, err := bufio.NewReader(out).ReadString('\n')
			pid, perr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || perr != nil {
				t.Fatalf("no pid from the holder: %q, %v", line, err)
			}
			marker, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/etc/marker", pid))
			if err != nil || string(marker) != "image-marker\n" {
				t.Errorf("the held root has no image marker: %q, %v", marker, err)
			}
			in.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("holder: %v", err)
			}
			if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
				t.Errorf("init %d still there after the holder returned: %v", pid, err)
			}
		})
	}
}
