package runtime

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentStarts: the many-ranks-per-node case. Every start mounts,
// and a mount anywhere on the system makes a concurrent openat2
// RESOLVE_IN_ROOT lookup of ".." fail with EAGAIN: init must retry it.
// 16 launchers at once, 100 times, not one failure.
func TestConcurrentStarts(t *testing.T) {
	requireUnprivileged(t)
	if testing.Short() {
		t.Skip("1600 container starts: not with -short")
	}
	// An image symbolic link that resolves through "..": /etc/resolv.conf.
	spec := launch{opts: args("true")}.spec(t)
	const width, rounds = 16, 100
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
				if err := cmd.Run(); err != nil {
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
