package sqfuse

import (
	"archive/tar"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/testutil"
)

// manyFiles is an image of thousands of files in nested directories, so
// that its inode and directory tables span many metadata blocks.
func manyFiles() []tarFile {
	var fs []tarFile
	for d := range 40 {
		dir := fmt.Sprintf("lib%02d/", d)
		fs = append(fs, tarFile{name: dir, typ: tar.TypeDir, mode: 0o755})
		for s := range 3 {
			sub := fmt.Sprintf("%ssite-packages-%d/", dir, s)
			fs = append(fs, tarFile{name: sub, typ: tar.TypeDir, mode: 0o755})
			for i := range 40 {
				name := fmt.Sprintf("%smodule_%03d_%s.py", sub, i, strings.Repeat("x", i%17))
				fs = append(fs, tarFile{name: name, typ: tar.TypeReg, mode: 0o644, uid: i % 4, gid: d % 3,
					data: pattern(50+i*13, byte(d*7+i))})
			}
			fs = append(fs, tarFile{name: sub + "link", typ: tar.TypeSymlink, link: "module_001_x.py", mode: 0o777})
		}
	}
	return fs
}

func waitPreload(img *Image) (bool, error) {
	<-img.tables.done
	return img.tables.ready.Load(), img.tables.err
}

// TestPreload: a preloaded image reads the same as one read on demand, and
// once preloaded, its inode and directory tables no longer go through
// the metadata cache.
func TestPreload(t *testing.T) {
	p := testutil.Squashfs(t, writeTar(t, manyFiles()), "-c", "zstd")
	want := walkImage(t, openImage(t, p))
	img := openImage(t, p)
	if ok, err := img.Preload(256 << 20); !ok || err != nil {
		t.Fatalf("preload: %v, %v", ok, err)
	}
	got := walkImage(t, img) // concurrently with the preload
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("preloaded image differs (-on demand +preloaded):\n%s", diff)
	}
	if ok, err := waitPreload(img); !ok || err != nil {
		t.Fatalf("preload: ready %v, %v", ok, err)
	}
	if img.tables.total < 10 {
		t.Fatalf("only %d metadata blocks: the fixture is too small to test a preload", img.tables.total)
	}
	// Once preloaded, a walk from cold caches reads no table from the file.
	img.meta, img.inodes, img.dirs = newBlockCache(32<<20), newInodeCache(1<<18), newDirCache(1<<20)
	if diff := cmp.Diff(want, walkImage(t, img)); diff != "" {
		t.Fatalf("preloaded image differs (-on demand +preloaded):\n%s", diff)
	}
	for pos := range img.meta.byPos {
		if pos >= img.tables.start && pos < img.tables.end {
			t.Errorf("metadata block %d of the tables went through the cache after the preload", pos)
		}
	}
	t.Logf("%d files, %d metadata blocks preloaded (%d by the preload), tables of %d bytes",
		len(want), img.tables.total, img.tables.loaded.Load(), img.tables.end-img.tables.start)
}

// TestPreloadBound: tables over the bound are not preloaded, and the image
// reads the same on demand.
func TestPreloadBound(t *testing.T) {
	p := testutil.Squashfs(t, writeTar(t, manyFiles()), "-c", "gzip")
	full := openImage(t, p)
	want := walkImage(t, full)
	if ok, err := full.Preload(256 << 20); !ok || err != nil {
		t.Fatalf("preload: %v, %v", ok, err)
	}
	if ok, err := waitPreload(full); !ok || err != nil {
		t.Fatalf("preload: ready %v, %v", ok, err)
	}
	compressed, blocks := int64(full.tables.end-full.tables.start), int64(full.tables.total)

	img := openImage(t, p)
	if ok, err := img.Preload(compressed - 1); ok || err != nil {
		t.Fatalf("a bound under the compressed tables: preload %v, %v", ok, err)
	}
	img = openImage(t, p)
	if ok, err := img.Preload(blocks*metaBlockSize - 1); !ok || err != nil {
		t.Fatalf("preload: %v, %v", ok, err)
	}
	if ok, err := waitPreload(img); ok || err == nil || !strings.Contains(err.Error(), PreloadEnv) {
		t.Fatalf("a bound under the decompressed tables: ready %v, %v", ok, err)
	}
	if diff := cmp.Diff(want, walkImage(t, img)); diff != "" {
		t.Fatalf("image over the bound differs (-want +got):\n%s", diff)
	}
	if len(img.tables.blocks.byPos) != 0 {
		t.Fatalf("%d blocks kept over the bound", len(img.tables.blocks.byPos))
	}
}

func TestPreloadLimit(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int64
		err  bool
	}{
		{"", 256 << 20, false}, {"0", 0, false}, {"16", 16 << 20, false},
		{"-1", 0, true}, {"lots", 0, true}, {"9999999999", 0, true},
	} {
		t.Setenv(PreloadEnv, c.env)
		got, err := PreloadLimit()
		if got != c.want || (err != nil) != c.err || (err != nil && !strings.Contains(err.Error(), PreloadEnv)) {
			t.Errorf("%s=%q: %d, %v", PreloadEnv, c.env, got, err)
		}
	}
}

// TestMountPreload compares a mount of the many-files image, preloaded and
// not, with squashfuse_ll's and, as root, the kernel's.
func TestMountPreload(t *testing.T) {
	testutil.NeedFUSE(t)
	img := testutil.Squashfs(t, writeTar(t, manyFiles()), "-c", "zstd")
	want := walkMount(t, mountSquashfuse(t, img))
	if k := mountKernel(t, img); k != "" {
		if diff := cmp.Diff(want, walkMount(t, k)); diff != "" {
			t.Fatalf("squashfuse_ll differs from the kernel (-squashfuse_ll +kernel):\n%s", diff)
		}
	}
	for _, env := range []string{"", "0", "1"} {
		t.Run(PreloadEnv+"="+env, func(t *testing.T) {
			t.Setenv(PreloadEnv, env)
			mnt := mountSqfuse(t, img)
			for pass := range 2 {
				if diff := cmp.Diff(want, walkMount(t, mnt)); diff != "" {
					t.Fatalf("pass %d: sqfuse differs (-reference +sqfuse):\n%s", pass+1, diff)
				}
			}
		})
	}
	t.Run("bad bound", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], Arg, img, t.TempDir())
		cmd.Env = append(os.Environ(), PreloadEnv+"=lots")
		out, err := cmd.CombinedOutput()
		if err == nil || strings.Count(string(out), "\n") != 1 || !strings.Contains(string(out), PreloadEnv) {
			t.Fatalf("got %v, %q; want one line naming %s", err, out, PreloadEnv)
		}
	})
}

// mountKernel mounts img with the kernel's squashfs when this test runs as
// root; it returns "" when it cannot.
func mountKernel(t *testing.T, img string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return ""
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", img, dir).CombinedOutput(); err != nil {
		t.Logf("no kernel mount: %v: %s", err, out)
		return ""
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-d", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
