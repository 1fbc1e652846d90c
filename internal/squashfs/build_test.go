package squashfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/tools"
	"golang.org/x/sys/unix"
)

func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := tools.Find(p); err != nil {
			t.Skipf("skipping: %v", err)
		}
	}
}

func sampleTar(t *testing.T, extra int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		h.ModTime = time.Unix(1700000000, 0)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	add(&tar.Header{Typeflag: tar.TypeDir, Name: "etc", Mode: 0o755}, "")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/passwd", Mode: 0o644, Uid: 5, Gid: 6}, "root:x:0:0::/:/bin/sh\n")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "secret", Mode: 0}, "s")
	add(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o4755}, strings.Repeat("x", extra))
	add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: "/etc/passwd", Mode: 0o777}, "")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listing reads an image back with sqfs2tar: one line per entry.
func listing(t *testing.T, img string) string {
	out, err := exec.Command("sqfs2tar", img).Output()
	if err != nil {
		t.Fatalf("sqfs2tar: %v", err)
	}
	var lines []string
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return strings.Join(lines, "\n")
		}
		if err != nil {
			t.Fatal(err)
		}
		l := fmt.Sprintf("%c %o %d/%d %d %s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size, h.Name)
		if h.Linkname != "" {
			l += " -> " + h.Linkname
		}
		lines = append(lines, l)
	}
}

// build builds the tar stream r.
func build(ctx context.Context, r io.Reader, out string, opt BuildOptions) error {
	return BuildFrom(ctx, func(_ context.Context, w io.Writer) error {
		// Hide r's WriterTo: the count of bytes fed (see diskFull) must
		// grow as tar2sqfs reads, as the importer's does.
		_, err := io.Copy(w, struct{ io.Reader }{r})
		return err
	}, out, opt)
}

func TestBuild(t *testing.T) {
	need(t, "tar2sqfs", "sqfs2tar", "unsquashfs")
	want := strings.Join([]string{
		"0 4755 0/0 1000 big",
		"5 755 0/0 0 etc/",
		"0 644 5/6 22 etc/passwd",
		"2 777 0/0 0 link -> /etc/passwd",
		"0 0 0/0 1 secret",
	}, "\n")
	for _, comp := range Compressions {
		t.Run(comp, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.sqfs")
			if err := build(context.Background(), bytes.NewReader(sampleTar(t, 1000)), out, BuildOptions{Compression: comp}); err != nil {
				t.Fatal(err)
			}
			if got := listing(t, out); got != want {
				t.Errorf("listing:\n%s\nwant:\n%s", got, want)
			}
			s, _ := exec.Command("unsquashfs", "-s", out).CombinedOutput()
			if !strings.Contains(string(s), "Compression "+Effective(comp)) {
				t.Errorf("superblock does not say %s:\n%s", Effective(comp), s)
			}
		})
	}
}

func TestBuildArgs(t *testing.T) {
	got, err := BuildOptions{Jobs: 3}.args("o")
	if want := "-q -f -s -c zstd -X level=3 -j 3 o"; err != nil || strings.Join(got, " ") != want {
		t.Errorf("args = %q, %v; want %q", got, err, want)
	}
	got, _ = BuildOptions{Compression: "xz", Level: 9, Jobs: 1}.args("o")
	if want := "-q -f -s -c xz -X level=9 -j 1 o"; strings.Join(got, " ") != want {
		t.Errorf("args = %q; want %q", got, want)
	}
	if _, err := (BuildOptions{Compression: "brotli"}).args("o"); err == nil || !strings.Contains(err.Error(), "zstd, lz4") {
		t.Errorf("unknown compression: error %v", err)
	}
}

func TestBuildFailures(t *testing.T) {
	need(t, "tar2sqfs")
	boom := errors.New("boom")
	tests := []struct {
		name string
		in   io.Reader
		want string
	}{
		{"not a tar", strings.NewReader(strings.Repeat("not a tar archive\n", 100)), "tar2sqfs:"},
		{"input error", io.MultiReader(bytes.NewReader(sampleTar(t, 1<<20)[:600000]), errReader{boom}), "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.sqfs")
			err := build(context.Background(), tc.in, out, BuildOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left behind: %v", out, err)
			}
		})
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestBuildMissingTool(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := build(context.Background(), strings.NewReader(""), filepath.Join(t.TempDir(), "x"), BuildOptions{})
	if !errors.Is(err, tools.ErrNotFound) || !strings.Contains(err.Error(), "squashfs-tools-ng") {
		t.Fatalf("error %v, want the package name", err)
	}
}

// TestBuildDiskFull builds onto a 1 MiB tmpfs: needs the right to mount.
func TestBuildDiskFull(t *testing.T) {
	need(t, "tar2sqfs")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("skipping: cannot mount a small tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	out := filepath.Join(dir, "x.sqfs")
	big := make([]byte, 8<<20)
	rand.NewChaCha8([32]byte{1}).Read(big) // does not compress
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Mode: 0o644, Size: int64(len(big))})
	tw.Write(big)
	tw.Close()
	err := build(context.Background(), &buf, out, BuildOptions{Compression: "none"})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line saying the disk is full", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", out, err)
	}
}

// TestBuildWaitsForProducer injects a failure while the producer still
// runs: BuildFrom returns only once the producer has returned (its caller
// then tears down what the producer uses), and a producer's failure fails
// the build even when tar2sqfs has finished.
func TestBuildWaitsForProducer(t *testing.T) {
	need(t, "tar2sqfs")
	late := errors.New("late failure")
	tests := []struct {
		name    string
		cancel  bool // cancel the build's context while the producer waits
		produce func(ctx context.Context, w io.Writer) error
		want    error // nil: want a tar2sqfs error
	}{
		{"tar2sqfs fails first", false, func(_ context.Context, w io.Writer) error {
			junk := bytes.Repeat([]byte("not a tar archive\n"), 4096)
			for {
				if _, err := w.Write(junk); err != nil {
					time.Sleep(200 * time.Millisecond) // still busy when tar2sqfs has failed
					return err
				}
			}
		}, nil},
		{"producer fails after tar2sqfs finished", false, func(_ context.Context, w io.Writer) error {
			// A whole archive, then more than the writer buffers: tar2sqfs
			// sees the end-of-archive marker and exits with success.
			if _, err := w.Write(append(sampleTar(t, 1000), make([]byte, 512<<10)...)); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond)
			return late
		}, late},
		{"cancelled", true, func(ctx context.Context, w io.Writer) error {
			w.Write(sampleTar(t, 1<<20)[:700000])
			<-ctx.Done()
			time.Sleep(200 * time.Millisecond)
			return ctx.Err()
		}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "x.sqfs")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var returned atomic.Bool
			produce := func(ctx context.Context, w io.Writer) error {
				defer returned.Store(true)
				return tc.produce(ctx, w)
			}
			if tc.cancel {
				time.AfterFunc(200*time.Millisecond, cancel)
			}
			err := BuildFrom(ctx, produce, out, BuildOptions{})
			if !returned.Load() {
				t.Error("BuildFrom returned while the producer still ran")
			}
			switch {
			case tc.want == nil && (err == nil || !strings.Contains(err.Error(), "tar2sqfs:")):
				t.Errorf("error %v, want tar2sqfs's", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s left behind: %v", out, err)
			}
		})
	}
}
