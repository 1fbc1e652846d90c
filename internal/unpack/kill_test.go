package unpack

import (
	"archive/tar"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// bigImage makes an image that takes a while to unpack: files of data that
// does not compress much.
func bigImage(t *testing.T) string {
	return sqfsImage(t, func(tw *tar.Writer) {
		addSmall(tw)
		x := uint32(1)
		for i := range 6 {
			data := make([]byte, 1<<20)
			for j := range data {
				x = x*1664525 + 1013904223
				data[j] = byte(x >> 24)
			}
			addFile(tw, fmt.Sprintf("d%d/f%d", i%4, i), 0o644, data)
		}
	})
}

// TestKilledAnywhere: an unpacker killed (SIGKILL) at random points of a
// cold unpack leaves nothing that a later run does not clean or use: that
// run gets the whole image, and the cache then holds the entry and its
// lock file only.
func TestKilledAnywhere(t *testing.T) {
	img := bigImage(t)
	exe, _ := os.Executable()
	// How long a whole unpack takes here, to kill within it.
	cache := cacheIn(t)
	start := time.Now()
	e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	whole := time.Since(start)
	t.Logf("a whole unpack: %v", whole)
	RemoveTree(cache)
	rounds := 20
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		cache := filepath.Join(t.TempDir(), "cache")
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=run:"+img, DirEnv+"="+cache)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(whole + 20*time.Millisecond))))
		cmd.Process.Kill()
		cmd.Wait()
		t.Setenv(DirEnv, cache)
		e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
		if err != nil {
			t.Fatalf("round %d: after a killed unpack: %v", round, err)
		}
		b, err := os.ReadFile(filepath.Join(e.Dir, "ro/f"))
		e.Close()
		if string(b) != "hello" || err != nil {
			t.Fatalf("round %d: ro/f: %q, %v", round, b, err)
		}
		if ents, _ := os.ReadDir(cache); len(ents) != 2 {
			t.Errorf("round %d: cache holds %v, want the entry and its lock", round, ents)
		}
		RemoveTree(cache)
	}
}

// TestLoneLockPruned: a lock file without its entry (what a run killed
// before unpacking leaves) goes with the next unpack, unless someone holds it.
func TestLoneLockPruned(t *testing.T) {
	cache := cacheIn(t)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	lone, held := filepath.Join(cache, "0123"+lockSuffix), filepath.Join(cache, "4567"+lockSuffix)
	os.WriteFile(lone, nil, 0o600)
	os.WriteFile(held, nil, 0o600)
	f, err := os.Open(held)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := flock(f, unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	e, err := Ensure(context.Background(), image(t), sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := os.Lstat(lone); !os.IsNotExist(err) {
		t.Errorf("a lone lock file stayed: %v", err)
	}
	if _, err := os.Lstat(held); err != nil {
		t.Errorf("a held lock file was removed: %v", err)
	}
}
