package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestConcurrentStarts: the many-ranks-per-node case. Every start mounts,
// and a mount anywhere on the system makes a concurrent openat2
// RESOLVE_IN_ROOT lookup of ".." fail with EAGAIN: init must retry it.
// 16 launchers at once, 100 times, not one failure.
// PCOCC_TEST_CONCURRENT_ROUNDS lowers the rounds: scripts/run-e2e.sh does for
// the FUSE passes, whose starts cost several times more on a loaded machine.
func TestConcurrentStarts(t *testing.T) {
	requireUnprivileged(t)
	if testing.Short() {
		t.Skip("1600 container starts: not with -short")
	}
	// An image symbolic link that resolves through "..": /etc/resolv.conf.
	spec := launch{opts: args("true")}.spec(t)
	const width = 16
	rounds := concurrentRounds(t)
	for round := range rounds {
		var wg sync.WaitGroup
		errs := make([]string, width)
		for i := range width {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := launcherCmd(t, spec)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				// A start that hangs is a failure too: say which one.
				if err := cmd.Start(); err != nil {
					errs[i] = err.Error()
					return
				}
				timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
				err := cmd.Wait()
				timer.Stop()
				if err != nil {
					errs[i] = fmt.Sprintf("%v: %s", err, out.String())
				}
			}()
		}
		wg.Wait()
		for i, e := range errs {
			if e != "" {
				t.Fatalf("round %d, launcher %d: %s", round, i, e)
			}
		}
	}
}

func concurrentRounds(t *testing.T) int {
	v := os.Getenv("PCOCC_TEST_CONCURRENT_ROUNDS")
	if v == "" {
		return 100
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("PCOCC_TEST_CONCURRENT_ROUNDS=%q: want a positive number", v)
	}
	return n
}
