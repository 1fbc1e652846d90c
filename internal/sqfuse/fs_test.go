package sqfuse

import (
	"archive/tar"
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/pcocc/pcocc/internal/testutil"
)

// TestFS checks the io/fs view of an image with the standard library's
// conformance test: every entry the listings give can be opened, read and
// stated consistently (dangling links left out: fstest opens every entry).
func TestFS(t *testing.T) {
	var files []tarFile
	for _, f := range testFiles() {
		if f.name != "d/abs" && f.name != "d/longlink" {
			files = append(files, f)
		}
	}
	img := openImage(t, testutil.Squashfs(t, writeTar(t, files), "-c", "zstd"))
	if err := fstest.TestFS(img, "d/small", "d/multi", "d/sticky", "big/f299", "empty"); err != nil {
		t.Fatal(err)
	}
}

// TestFSLinks: symbolic links are followed inside the image, never out of
// it; a loop ends with ELOOP.
func TestFSLinks(t *testing.T) {
	files := []tarFile{
		{name: "etc/", typ: tar.TypeDir, mode: 0o755},
		{name: "etc/os-release", typ: tar.TypeReg, mode: 0o644, data: []byte("ID=test\n")},
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/lib", typ: tar.TypeSymlink, link: "../etc", mode: 0o777},
		{name: "abs", typ: tar.TypeSymlink, link: "/usr/lib/os-release", mode: 0o777},
		{name: "up", typ: tar.TypeSymlink, link: "../../../../etc/os-release", mode: 0o777},
		{name: "loop", typ: tar.TypeSymlink, link: "loop", mode: 0o777},
		{name: "dangling", typ: tar.TypeSymlink, link: "nowhere", mode: 0o777},
	}
	img := openImage(t, testutil.Squashfs(t, writeTar(t, files), "-c", "gzip"))
	for _, p := range []string{"etc/os-release", "usr/lib/os-release", "abs", "up"} {
		b, err := fs.ReadFile(img, p)
		if err != nil || string(b) != "ID=test\n" {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	if _, err := fs.ReadFile(img, "loop"); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("loop: %v, want ELOOP", err)
	}
	if _, err := fs.ReadFile(img, "dangling"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling: %v, want not exist", err)
	}
	if fi, err := img.Lstat("abs"); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("lstat abs: %v, %v", fi, err)
	}
	if target, err := img.ReadLink("usr/lib"); err != nil || target != "../etc" {
		t.Errorf("readlink: %q, %v", target, err)
	}
	if _, err := img.Open("/etc"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("an absolute name: %v, want invalid", err)
	}
	if _, err := img.ReadDir("etc/os-release"); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("readdir of a file: %v", err)
	}
}
