package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/testutil"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// sqfsImage makes a squashfs with tar2sqfs from the tar entries that add
// writes.
func sqfsImage(t *testing.T, add func(tw *tar.Writer)) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add(tw)
	tw.Close()
	return testutil.Squashfs(t, b.Bytes())
}

// addFile writes a regular file entry.
func addFile(tw *tar.Writer, name string, mode int64, data []byte) {
	tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))})
	tw.Write(data)
}

// image makes a small squashfs: a read-only directory ro/ with ro/f.
func image(t *testing.T) string {
	return sqfsImage(t, addSmall)
}

func addSmall(tw *tar.Writer) {
	tw.WriteHeader(&tar.Header{Name: "ro/", Typeflag: tar.TypeDir, Mode: 0o555})
	addFile(tw, "ro/f", 0o444, []byte("hello"))
}

func cacheIn(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "cache")
	t.Setenv(DirEnv, dir)
	t.Cleanup(func() { RemoveTree(dir) })
	return dir
}

func TestEnsureUnpacksOnce(t *testing.T) {
	img := image(t)
	cache := cacheIn(t)
	e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := e.Dir
	if b, err := os.ReadFile(filepath.Join(dir, "ro/f")); err != nil || string(b) != "hello" {
		t.Fatalf("ro/f: %q, %v", b, err)
	}
	st1, _ := os.Stat(dir)
	again, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil || again.Dir != dir {
		t.Fatalf("second Ensure: %v, %v (first %q)", again, err, dir)
	}
	again.Close()
	if st2, _ := os.Stat(again.Dir); !os.SameFile(st1, st2) {
		t.Error("the image was unpacked twice")
	}
	if fi, _ := os.Stat(cache); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestEnsureConcurrent: runs that unpack the same image at once all get the
// one published copy, and leave no temporary directory.
func TestEnsureConcurrent(t *testing.T) {
	img := image(t)
	cache := cacheIn(t)
	var wg sync.WaitGroup
	dirs := make([]string, 6)
	errs := make([]error, 6)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
			if err == nil {
				dirs[i] = e.Dir
				e.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("run %d: %q, %v (run 0: %q)", i, dirs[i], errs[i], dirs[0])
		}
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 2 { // the entry and its lock
		t.Errorf("cache holds %d entries, want the entry and its lock: %v", len(ents), ents)
	}
}

// TestStaleTemporaryRemoved: what a killed run left is removed by the next.
func TestStaleTemporaryRemoved(t *testing.T) {
	img := image(t)
	cache := cacheIn(t)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(cache, tmpPrefix+strconv.Itoa(cmd.Process.Pid)+"-x")
	if err := os.MkdirAll(filepath.Join(stale, "rootfs", "ro"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(stale, "rootfs", "ro"), 0o555)
	e, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s still there: %v", stale, err)
	}
}

// TestCacheOfOthersRefused: a cache directory that others can write to, or
// that belongs to someone else, is refused.
func TestCacheOfOthersRefused(t *testing.T) {
	cache := cacheIn(t)
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cache, 0o777)
	if _, err := CacheDir(); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("world-writable cache: %v", err)
	}
	t.Setenv(DirEnv, "relative/dir")
	if _, err := CacheDir(); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative cache: %v", err)
	}
	t.Setenv(DirEnv, cache)
	if os.Getuid() != 0 {
		return
	}
	os.Chmod(cache, 0o700)
	if err := os.Chown(cache, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := CacheDir(); err == nil || !strings.Contains(err.Error(), "belongs to uid 4242") {
		t.Errorf("cache of uid 4242: %v", err)
	}
}

// TestPrune: once an image file is replaced (re-imported) or deleted, the
// next unpack removes its old entry, unless a run still holds it.
func TestPrune(t *testing.T) {
	cache := cacheIn(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.sqfs"), filepath.Join(dir, "b.sqfs")
	copyFile(t, image(t), a)
	copyFile(t, image(t), b)
	ea, err := Ensure(context.Background(), a, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	oldA := filepath.Dir(ea.Dir)
	// a is replaced while a run holds its entry: kept.
	os.Remove(a)
	copyFile(t, image(t), a)
	eb, err := Ensure(context.Background(), b, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	eb.Close()
	if _, err := os.Stat(oldA); err != nil {
		t.Fatalf("an entry in use was pruned: %v", err)
	}
	// Released: the next unpack prunes it, and keeps the live ones.
	ea.Close()
	os.Remove(b)
	ea2, err := Ensure(context.Background(), a, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	ea2.Close()
	if _, err := os.Stat(oldA); !os.IsNotExist(err) {
		t.Errorf("the replaced image's entry is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(eb.Dir)); !os.IsNotExist(err) {
		t.Errorf("the deleted image's entry is still there: %v", err)
	}
	if _, err := os.Stat(ea2.Dir); err != nil {
		t.Errorf("the live entry: %v", err)
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 2 {
		t.Errorf("cache: %v, want one entry and its lock", ents)
	}
}

// TestSmallAndRoom: the automatic mode unpacks small images only, where
// there is room.
func TestSmallAndRoom(t *testing.T) {
	cacheIn(t)
	img := image(t)
	max, err := MaxMiB()
	if err != nil || max != DefaultMaxMiB {
		t.Fatalf("MaxMiB: %d, %v", max, err)
	}
	if !Small(img, max) || !Room(img) {
		t.Error("a small image is not to be unpacked")
	}
	if Small(img, 0) {
		t.Error("small above the maximum")
	}
	missing := filepath.Join(t.TempDir(), "missing.sqfs")
	if Small(missing, max) || Room(missing) {
		t.Error("a missing file is to be unpacked")
	}
	t.Setenv(MaxEnv, "0")
	if max, err := MaxMiB(); err != nil || max != 0 {
		t.Errorf("%s=0: %d, %v", MaxEnv, max, err)
	}
	for _, bad := range []string{"abc", "-1", "1.5"} {
		t.Setenv(MaxEnv, bad)
		if _, err := MaxMiB(); err == nil || !strings.Contains(err.Error(), MaxEnv+`="`+bad+`": not a size in MiB`) {
			t.Errorf("%s=%s: %v", MaxEnv, bad, err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFull: an unpack that runs out of space fails, and leaves nothing
// in the cache (as root: a small tmpfs).
func TestDiskFull(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>9) // compresses, but not to nothing
	}
	img := sqfsImage(t, func(tw *tar.Writer) { addFile(tw, "big", 0o644, big) })
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mounting a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	cache := filepath.Join(mnt, "cache")
	t.Setenv(DirEnv, cache)
	_, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Ensure on a full disk: %v", err)
	}
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), lockSuffix) {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
}

// TestInspect: what pcocc check reports, without creating anything.
func TestInspect(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	t.Setenv(DirEnv, cache)
	dir, exists, err := Inspect()
	if dir != cache || exists || err != nil {
		t.Fatalf("missing cache: %q %v %v", dir, exists, err)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Fatalf("Inspect created %s", cache)
	}
	if err := os.Mkdir(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cache, 0o777)
	if _, _, err := Inspect(); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Errorf("world-writable cache: %v", err)
	}
	os.Chmod(cache, 0o700)
	if _, exists, err := Inspect(); !exists || err != nil {
		t.Errorf("good cache: %v %v", exists, err)
	}
}

// TestCancel: a cancelled unpack stops and keeps nothing; a run waiting for
// another's unpack gives up when cancelled.
func TestCancel(t *testing.T) {
	img := image(t)
	cache := cacheIn(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Ensure(ctx, img, sqfuse.InProcess{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled unpack: %v", err)
	}
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), lockSuffix) {
			t.Errorf("left in the cache: %s", e.Name())
		}
	}
	// Another run holds the exclusive lock (unpacking): a cancelled wait
	// returns.
	key, _ := Key(img)
	lock, err := os.OpenFile(filepath.Join(cache, key)+lockSuffix, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := flock(lock, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if e, err := Held(img); e != nil || err != nil {
		t.Errorf("Held during an unpack: %v, %v", e, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Ensure(ctx, img, sqfuse.InProcess{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait for another unpack: %v", err)
	}
}
