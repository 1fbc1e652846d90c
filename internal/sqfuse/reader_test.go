package sqfuse

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/testutil"
)

// testFiles covers what the reader must get right: blocks, fragments, tails,
// sparse blocks, exact-block files, hard links, every file type, special
// mode bits, long and non-ASCII names, a directory too large for one
// directory header, and xattrs (the same value twice, which writers may
// store once, out of line).
func testFiles() []tarFile {
	const bs = 128 << 10
	longTarget := strings.Repeat("t/", 500) + "end"
	fs := []tarFile{
		{name: "d/", typ: tar.TypeDir, mode: 0o755},
		{name: "d/small", typ: tar.TypeReg, mode: 0o644, data: pattern(100, 1)},
		{name: "d/exact", typ: tar.TypeReg, mode: 0o644, data: pattern(bs, 2)},
		{name: "d/multi", typ: tar.TypeReg, mode: 0o755, data: pattern(3*bs+5000, 3)},
		{name: "d/zeros", typ: tar.TypeReg, mode: 0o644, data: append(make([]byte, 2*bs+10), pattern(bs, 4)...)},
		{name: "d/empty", typ: tar.TypeReg, mode: 0o600},
		{name: "d/hl", typ: tar.TypeLink, link: "d/multi"},
		{name: "d/sym", typ: tar.TypeSymlink, link: "multi", mode: 0o777},
		{name: "d/abs", typ: tar.TypeSymlink, link: "/etc/passwd", mode: 0o777},
		{name: "d/longlink", typ: tar.TypeSymlink, link: longTarget, mode: 0o777},
		{name: "d/fifo", typ: tar.TypeFifo, mode: 0o644},
		{name: "d/null", typ: tar.TypeChar, mode: 0o666, dev: [2]int64{1, 3}},
		{name: "d/bigdev", typ: tar.TypeChar, mode: 0o600, dev: [2]int64{300, 70000}},
		{name: "d/blk", typ: tar.TypeBlock, mode: 0o660, gid: 6, dev: [2]int64{8, 1}},
		{name: "d/suid", typ: tar.TypeReg, mode: 0o4755, data: []byte("#!/bin/sh\n")},
		{name: "d/sgid", typ: tar.TypeReg, mode: 0o2755, data: []byte("x")},
		{name: "d/sticky/", typ: tar.TypeDir, mode: 0o1777},
		{name: "d/secret", typ: tar.TypeReg, mode: 0, uid: 1000, gid: 1000, data: []byte("secret\n")},
		{name: "d/" + strings.Repeat("n", 255), typ: tar.TypeReg, mode: 0o644, data: []byte("long name")},
		{name: "d/héllo wörld", typ: tar.TypeReg, mode: 0o644, data: []byte("unicode")},
		{name: "d/x1", typ: tar.TypeReg, mode: 0o644, data: []byte("a"),
			xattrs: map[string]string{"user.shared": strings.Repeat("v", 300), "user.one": "1"}},
		{name: "d/x2", typ: tar.TypeReg, mode: 0o644, data: []byte("b"),
			xattrs: map[string]string{"user.shared": strings.Repeat("v", 300)}},
		{name: "empty/", typ: tar.TypeDir, mode: 0o700, uid: 1000, gid: 100},
		{name: "big/", typ: tar.TypeDir, mode: 0o755},
	}
	for i := range 300 {
		fs = append(fs, tarFile{name: fmt.Sprintf("big/f%03d", i), typ: tar.TypeReg, mode: 0o644,
			uid: i % 3, gid: i % 5, data: pattern(i*37, byte(i))})
	}
	return fs
}

// expected derives from the tar members what a walk must find.
func expected(files []tarFile) map[string]entry {
	want := map[string]entry{".": {Type: 'd', Mode: 0o755}}
	links := map[string]uint32{}
	for _, f := range files {
		if f.typ == tar.TypeLink {
			links[f.link]++
		}
	}
	for _, f := range files {
		name := strings.TrimSuffix(f.name, "/")
		e := entry{Mode: uint32(f.mode), UID: f.uid, GID: f.gid, Nlink: 1}
		switch f.typ {
		case tar.TypeDir:
			e.Type, e.Nlink = 'd', 0
		case tar.TypeReg:
			e.Type, e.Size, e.Sum = 'f', int64(len(f.data)), sum(f.data)
			e.Nlink += links[name]
		case tar.TypeLink:
			e = want[f.link]
		case tar.TypeSymlink:
			e.Type, e.Target, e.Size = 'l', f.link, int64(len(f.link))
		case tar.TypeFifo:
			e.Type = 'p'
		case tar.TypeChar, tar.TypeBlock:
			e.Type, e.Rdev = 'c', uint64(f.dev[0])<<32|uint64(f.dev[1])
			if f.typ == tar.TypeBlock {
				e.Type = 'b'
			}
		}
		if len(f.xattrs) > 0 {
			e.Xattrs = joinXattrs(f.xattrs)
		}
		want[name] = e
	}
	return want
}

func joinXattrs(m map[string]string) string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ";")
}

// walkImage lists an image through the reader alone (no FUSE), reading
// files in pieces that straddle block boundaries.
func walkImage(t *testing.T, img *Image) map[string]entry {
	t.Helper()
	got := map[string]entry{}
	var walk func(p string, ref uint64)
	walk = func(p string, ref uint64) {
		in, err := img.inode(ref)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		e := entry{Type: "?dflbcps"[in.kind], Mode: in.mode & 0o7777, UID: int(in.uid), GID: int(in.gid), Nlink: in.nlink}
		switch in.kind {
		case typeFile:
			b := make([]byte, 0, in.size)
			buf := make([]byte, 70001)
			for uint64(len(b)) < in.size {
				n, err := img.readFile(in, buf, uint64(len(b)))
				if err != nil || n == 0 {
					t.Fatalf("%s: reading at %d: %d, %v", p, len(b), n, err)
				}
				b = append(b, buf[:n]...)
			}
			e.Size, e.Sum = int64(in.size), sum(b)
		case typeSymlink:
			e.Size, e.Target = int64(in.size), string(in.target)
		case typeBlock, typeChar:
			major := uint64(in.rdev&0xfff00) >> 8
			minor := uint64(in.rdev&0xff) | uint64(in.rdev>>12)&0xfff00
			e.Rdev = major<<32 | minor
		}
		names, values, err := img.xattrList(in)
		if err != nil {
			t.Fatalf("%s: xattrs: %v", p, err)
		}
		if len(names) > 0 {
			m := map[string]string{}
			for i, n := range names {
				m[n] = string(values[i])
			}
			e.Xattrs = joinXattrs(m)
		}
		got[p] = e
		if in.kind != typeDir {
			return
		}
		list, err := img.readDir(in)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, d := range list {
			child, err := img.lookup(in, d.name)
			if err != nil || child.ref != d.ref {
				t.Fatalf("%s: lookup %q: %v", p, d.name, err)
			}
			walk(path.Join(p, d.name), d.ref)
		}
	}
	walk(".", img.sb.RootInode)
	return got
}

func openImage(t *testing.T, p string) *Image {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	img, err := Open(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestReader: every compressor tar2sqfs offers (but lzo) and a small block
// size give back exactly what went into the tar stream.
func TestReader(t *testing.T) {
	files := testFiles()
	stream := writeTar(t, files)
	want := expected(files)
	for _, args := range [][]string{
		{"-c", "zstd", "-X", "level=3"}, {"-c", "gzip"}, {"-c", "lz4"}, {"-c", "xz"}, {"-c", "lzma"},
		{"-c", "zstd", "-b", "4096"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			img := openImage(t, testutil.Squashfs(t, stream, args...))
			got := walkImage(t, img)
			// Directory link counts are the image's (2 + subdirectories).
			for p, e := range got {
				if e.Type == 'd' {
					if e.Nlink < 2 {
						t.Errorf("%s: nlink %d", p, e.Nlink)
					}
					e.Nlink = 0
					got[p] = e
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("image content (-tar +image):\n%s", diff)
			}
		})
	}
}

// TestReaderRejects: an unsupported compressor, a file that is no squashfs
// and a truncated image fail with ErrFormat at open or at first use, never
// with a panic or garbage.
func TestReaderRejects(t *testing.T) {
	stream := writeTar(t, testFiles())
	_, err := Open(mustOpen(t, testutil.Squashfs(t, stream, "-c", "lzo")), 0)
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("lzo image: got %v, want ErrUnsupported", err)
	}
	_, err = Open(strings.NewReader(strings.Repeat("not a squashfs ", 10)), 0)
	if !errors.Is(err, ErrFormat) {
		t.Errorf("text file: got %v, want ErrFormat", err)
	}
	good, err := os.ReadFile(testutil.Squashfs(t, stream, "-c", "zstd"))
	if err != nil {
		t.Fatal(err)
	}
	// Cut before the tables at the end: opening or walking must fail.
	cut := good[:len(good)/2]
	img, err := Open(strings.NewReader(string(cut)), 0)
	if err == nil {
		var in *inode
		if in, err = img.inode(img.sb.RootInode); err == nil {
			_, err = img.readDir(in)
		}
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("truncated image: got %v, want ErrFormat", err)
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
