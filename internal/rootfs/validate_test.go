package rootfs

import (
	"archive/tar"
	"errors"
	"path"
	"strings"
	"testing"
)

func TestValidateEntry(t *testing.T) {
	tests := []struct {
		typ        byte
		name, link string
		wantName   string
		wantLink   string
		wantErr    error
	}{
		{tar.TypeReg, "./a//b", "", "a/b", "", nil},
		{tar.TypeDir, "a/b/", "", "a/b", "", nil},
		{tar.TypeDir, "./", "", Root, "", nil},
		{tar.TypeReg, "/etc/passwd", "", "", "", ErrAbsolute},
		{tar.TypeReg, "a/../b", "", "", "", ErrDotDot},
		{tar.TypeReg, "..", "", "", "", ErrDotDot},
		{tar.TypeReg, "", "", "", "", ErrBadName},
		{tar.TypeReg, "a\x00b", "", "", "", ErrBadName},
		{tar.TypeLink, "b", "./a", "b", "a", nil},
		{tar.TypeLink, "b", "../a", "", "", ErrEscape},
		{tar.TypeLink, "b", "/a", "", "", ErrEscape},
		{tar.TypeSymlink, "a/b", "../c", "a/b", "", nil},
		{tar.TypeSymlink, "a/b", "../../c", "", "", ErrEscape},
		{tar.TypeSymlink, "a/b", "x/../../../c", "", "", ErrEscape},
		{tar.TypeSymlink, "a/b", "/../../c", "a/b", "", nil},
		{tar.TypeSymlink, "a", "", "", "", nil}, // error checked below
		{tar.TypeChar, "dev/null", "", "dev/null", "", nil},
		{tar.TypeFifo, "p", "", "p", "", nil},
		{'V', "vol", "", "", "", ErrUnsupported},
		{tar.TypeXGlobalHeader, "g", "", "", "", ErrUnsupported},
	}
	for _, tc := range tests {
		name, link, err := ValidateEntry(&tar.Header{Typeflag: tc.typ, Name: tc.name, Linkname: tc.link})
		if tc.typ == tar.TypeSymlink && tc.link == "" {
			if err == nil {
				t.Errorf("empty symlink target accepted")
			}
			continue
		}
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%c %q -> %q: error %v, want %v", tc.typ, tc.name, tc.link, err, tc.wantErr)
			}
			continue
		}
		if err != nil || name != tc.wantName || link != tc.wantLink {
			t.Errorf("%c %q -> %q = %q, %q, %v; want %q, %q", tc.typ, tc.name, tc.link, name, link, err, tc.wantName, tc.wantLink)
		}
	}
}

// insideRoot is an independent oracle: does p, cleaned, stay under /root?
func insideRoot(p string) bool {
	c := path.Join("/root", p)
	return c == "/root" || strings.HasPrefix(c, "/root/")
}

func FuzzValidateEntry(f *testing.F) {
	for _, s := range [][3]string{
		{"0", "a/b", ""}, {"1", "b", "a"}, {"2", "a/b", "../c"}, {"2", "a", "../x"},
		{"5", "./d/", ""}, {"0", "../x", ""}, {"1", "x", "/etc"}, {"2", "a/./b", "./../.."},
	} {
		f.Add(s[0][0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, typ byte, name, link string) {
		n, l, err := ValidateEntry(&tar.Header{Typeflag: typ, Name: name, Linkname: link})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if n == "" || path.Clean(n) != n || strings.HasPrefix(n, "/") || !insideRoot(n) {
			t.Fatalf("accepted name %q as %q", name, n)
		}
		for _, c := range strings.Split(n, "/") {
			if c == ".." {
				t.Fatalf("accepted name %q with '..'", name)
			}
		}
		switch typ {
		case tar.TypeLink:
			if l == "" || path.Clean(l) != l || !insideRoot(l) || l == ".." || strings.HasPrefix(l, "../") {
				t.Fatalf("accepted hard link %q -> %q as %q", name, link, l)
			}
		case tar.TypeSymlink:
			if !strings.HasPrefix(link, "/") && !insideRoot(path.Join(path.Dir(n), link)) {
				t.Fatalf("accepted symlink %q -> %q escaping the root", name, link)
			}
		}
	})
}
