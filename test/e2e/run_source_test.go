package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunSourceInterrupted stops the first run of a large image source while
// it hashes or imports it: as image import, SIGINT and SIGTERM say
// "interrupted: nothing was imported" (128+N); nothing stays in the cache of
// sources, and the next run imports it and runs.
func TestRunSourceInterrupted(t *testing.T) {
	requireHarness(t)
	archive := bigArchive(t)
	u := newUserEnv(t)
	u.env = append(u.env, "PCOCC_UNPACK_DIR="+filepath.Join(u.home, "unpacked"))
	src := "docker-archive:" + archive
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		for _, delay := range []time.Duration{5, 100, 400} {
			cmd := u.command("run", src, "true")
			stderr, _ := signalAfter(t, cmd, sig, delay*time.Millisecond)
			out := u.mustPcocc("image", "cache", "list")
			if strings.Contains(out, "1 source,") {
				// The import finished before the signal (a fast machine):
				// what it left must be complete, so the next run uses it
				// without importing again. Start again from nothing.
				if strings.Contains(stderr, "nothing was imported") {
					t.Fatalf("after %v at %v: the cache holds the source, but stderr says %q", sig, delay, stderr)
				}
				if _, errs, _ := u.pcocc("run", src, "true"); strings.Contains(errs, "importing ") {
					t.Fatalf("after %v at %v: a source left in the cache was imported again: %q", sig, delay, errs)
				}
				u.mustPcocc("image", "cache", "clean")
				continue
			}
			if !strings.Contains(out, "0 sources") {
				t.Fatalf("after %v at %v: the cache of sources is neither empty nor complete:\n%s", sig, delay, out)
			}
			checkInterruptedImport(t, sig, cmd, stderr)
		}
	}
	// The archive holds data only: the run itself fails (127), after the
	// import.
	_, errs, _ := u.pcocc("run", src, "true")
	if strings.Count(errs, "importing ") != 1 {
		t.Fatalf("run after the interruptions: stderr %q, want one import", errs)
	}
	if out := u.mustPcocc("image", "cache", "list"); !strings.Contains(out, "1 source,") {
		t.Fatalf("after a complete run, the cache of sources:\n%s", out)
	}
	if _, errs, _ = u.pcocc("run", src, "true"); strings.Contains(errs, "importing ") {
		t.Fatalf("second run imported again: %q", errs)
	}
}
