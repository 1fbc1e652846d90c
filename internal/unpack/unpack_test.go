package unpack

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// image makes a small squashfs with tar2sqfs.
func image(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("tar2sqfs"); err != nil {
		t.Skip("tar2sqfs not found")
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "ro/", Typeflag: tar.TypeDir, Mode: 0o555})
	tw.WriteHeader(&tar.Header{Name: "ro/f", Typeflag: tar.TypeReg, Mode: 0o444, Size: 5})
	tw.Write([]byte("hello"))
	tw.Close()
	p := filepath.Join(t.TempDir(), "img.sqfs")
	cmd := exec.Command("tar2sqfs", "-q", "-f", p)
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar2sqfs: %v: %s", err, out)
	}
	return p
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
	dir, err := Ensure(img)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "ro/f")); err != nil || string(b) != "hello" {
		t.Fatalf("ro/f: %q, %v", b, err)
	}
	st1, _ := os.Stat(dir)
	again, err := Ensure(img)
	if err != nil || again != dir {
		t.Fatalf("second Ensure: %q, %v (first %q)", again, err, dir)
	}
	if st2, _ := os.Stat(again); !os.SameFile(st1, st2) {
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
			dirs[i], errs[i] = Ensure(img)
		}()
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil || dirs[i] != dirs[0] {
			t.Fatalf("run %d: %q, %v (run 0: %q)", i, dirs[i], errs[i], dirs[0])
		}
	}
	ents, _ := os.ReadDir(cache)
	if len(ents) != 1 {
		t.Errorf("cache holds %d entries, want 1: %v", len(ents), ents)
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
	if _, err := Ensure(img); err != nil {
		t.Fatal(err)
	}
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
