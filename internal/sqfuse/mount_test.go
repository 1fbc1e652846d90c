package sqfuse

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/testutil"
)

// CompareEnv lists more squashfs files (colon-separated) for
// TestMountMatchesSquashfuse: the test fixtures imported by pcocc and the
// large benchmark image, for instance.
const CompareEnv = "PCOCC_SQFUSE_COMPARE"

// TestMountMatchesSquashfuse mounts images with this server (through its
// real entry point, a separate process) and with squashfuse_ll, and
// compares what a program sees: paths, types, modes, owners, sizes, link
// targets, link counts, devices, xattrs and file contents. Twice over the
// sqfuse mount: the second pass is served from the kernel's caches.
func TestMountMatchesSquashfuse(t *testing.T) {
	testutil.NeedFUSE(t)
	testutil.Need(t, "squashfuse_ll", "fusermount3")
	images := []string{testutil.Squashfs(t, writeTar(t, testFiles()), "-c", "zstd")}
	if v := os.Getenv(CompareEnv); v != "" {
		images = append(images, strings.Split(v, ":")...)
	}
	for _, img := range images {
		t.Run(filepath.Base(filepath.Dir(img))+"/"+filepath.Base(img), func(t *testing.T) {
			ref := mountSquashfuse(t, img)
			mnt := mountSqfuse(t, img)
			want := walkMount(t, ref)
			for pass := range 2 {
				if diff := cmp.Diff(want, walkMount(t, mnt)); diff != "" {
					t.Fatalf("pass %d: sqfuse differs from squashfuse_ll (-squashfuse_ll +sqfuse):\n%s", pass+1, diff)
				}
			}
			t.Logf("%d entries equal", len(want))
		})
	}
}

// TestMountBadImage: the server refuses a file that is no squashfs with a
// message, and exits non-zero, before it serves anything.
func TestMountBadImage(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.sqfs")
	if err := os.WriteFile(bad, bytes.Repeat([]byte("junk"), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(os.Args[0], Arg, bad, t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a squashfs") {
		t.Fatalf("got %v, %q; want a failure saying it is not a squashfs", err, out)
	}
}

func unmount(t *testing.T, dir string) {
	t.Helper()
	if err := exec.Command("fusermount3", "-u", dir).Run(); err != nil {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	}
}

func mountSquashfuse(t *testing.T, img string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("squashfuse_ll", img, dir).CombinedOutput(); err != nil {
		t.Fatalf("squashfuse_ll: %v: %s", err, out)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// mountSqfuse starts `TESTBINARY __pcocc_sqfuse IMG DIR` and waits for the
// mount to appear (its device differs from the directory's).
func mountSqfuse(t *testing.T, img string) string {
	t.Helper()
	dir := t.TempDir()
	var before unix.Stat_t
	if err := unix.Stat(dir, &before); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], Arg, img, dir)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		unmount(t, dir)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v: %s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the server did not exit after the unmount")
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("server exited: %v: %s", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		var st unix.Stat_t
		if unix.Stat(dir, &st) == nil && st.Dev != before.Dev {
			return dir
		}
	}
	t.Fatal("the mount did not appear")
	return ""
}

// walkMount lists a mounted image the way programs see it.
func walkMount(t *testing.T, root string) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := entry{Mode: st.Mode & 0o7777, UID: int(st.Uid), GID: int(st.Gid), Nlink: uint32(st.Nlink)}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			e.Type = 'd' // sizes differ: squashfuse_ll says 0, the kernel and sqfuse the listing's
		case syscall.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.Type, e.Size, e.Sum = 'f', st.Size, sum(b)
		case syscall.S_IFLNK:
			e.Type, e.Size = 'l', st.Size
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		case syscall.S_IFCHR, syscall.S_IFBLK:
			e.Type = 'c'
			if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
				e.Type = 'b'
			}
			e.Rdev = uint64(unix.Major(st.Rdev))<<32 | uint64(unix.Minor(st.Rdev))
		case syscall.S_IFIFO:
			e.Type = 'p'
		case syscall.S_IFSOCK:
			e.Type = 's'
		}
		e.Xattrs = xattrsOf(t, p)
		got[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func xattrsOf(t *testing.T, p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return "" // ENOTSUP: an image without xattrs
	}
	m := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		v := make([]byte, 64<<10)
		k, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			t.Errorf("%s: getxattr %s: %v", p, name, err)
		}
		m[name] = string(v[:max(k, 0)])
	}
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ";")
}
