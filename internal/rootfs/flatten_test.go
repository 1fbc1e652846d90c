package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFlatten(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]ent // bottom first
		want   []ent   // sorted by name
	}{{
		name: "upper file wins, directories merge",
		layers: [][]ent{
			{dir("etc"), file("etc/a", "1"), file("etc/b", "b")},
			{dir("etc"), file("etc/a", "2"), file("etc/c", "c")},
		},
		want: []ent{dir("etc"), file("etc/a", "2"), file("etc/b", "b"), file("etc/c", "c")},
	}, {
		name: "whiteout removes a file and a whole directory",
		layers: [][]ent{
			{dir("d"), file("d/x", "x"), file("f", "f"), file("g", "g")},
			{whiteout("", "d"), whiteout("", "f")},
		},
		want: []ent{file("g", "g")},
	}, {
		name: "opaque directory hides lower content only",
		layers: [][]ent{
			{dir("d"), file("d/x", "x"), dir("d/sub"), file("d/sub/y", "y")},
			{withMode(dir("d"), 0o700), opaque("d"), file("d/z", "z")},
		},
		want: []ent{withMode(dir("d"), 0o700), file("d/z", "z")},
	}, {
		name: "whiteout and re-creation in the same layer",
		layers: [][]ent{
			{dir("d"), file("d/old", "o")},
			{whiteout("", "d"), dir("d"), file("d/new", "n")},
		},
		want: []ent{dir("d"), file("d/new", "n")},
	}, {
		name: "a file over a directory hides its content",
		layers: [][]ent{
			{dir("d"), file("d/x", "x")},
			{file("d", "now a file")},
		},
		want: []ent{file("d", "now a file")},
	}, {
		name: "a directory over a file",
		layers: [][]ent{
			{file("x", "file")},
			{dir("x"), file("x/y", "y")},
		},
		want: []ent{dir("x"), file("x/y", "y")},
	}, {
		name: "implicit parent gets the lower layer's attributes",
		layers: [][]ent{
			{withOwner(withMode(dir("d"), 0o700), 5)},
			{file("d/x", "x")},
		},
		want: []ent{withOwner(withMode(dir("d"), 0o700), 5), file("d/x", "x")},
	}, {
		name: "names are normalised",
		layers: [][]ent{
			{dir("./"), dir("./a/"), file("./a//b", "b"), file("a/./c", "c")},
		},
		want: []ent{dir("a"), file("a/b", "b"), file("a/c", "c")},
	}, {
		name: "whiteout deep in a lower tree and aufs metadata",
		layers: [][]ent{
			{dir("a"), dir("a/b"), file("a/b/c", "c"), file("a/b/d", "d")},
			{whiteout("a/b", "c"), file(".wh..wh.plnk/x", ""), dir(".wh..wh.orph")},
		},
		want: []ent{dir("a"), dir("a/b"), file("a/b/d", "d")},
	}, {
		name: "modes, owners, xattrs, special files kept",
		layers: [][]ent{{
			withMode(file("suid", "s"), 0o4755), withMode(file("none", "secret"), 0),
			withMode(dir("tmp"), 0o1777), withOwner(file("owned", ""), 1234),
			{name: "xa", typ: tar.TypeReg, mode: 0o600, pax: map[string]string{"SCHILY.xattr.user.k": "v"}},
			raw("fifo", tar.TypeFifo), raw("null", tar.TypeChar), sym("abs", "/etc/passwd"),
			sym("dir/rel", "../x"), file("été à/n m", "u"),
		}},
		want: []ent{
			sym("abs", "/etc/passwd"), sym("dir/rel", "../x"), raw("fifo", tar.TypeFifo),
			withMode(file("none", "secret"), 0), raw("null", tar.TypeChar), withOwner(file("owned", ""), 1234),
			withMode(file("suid", "s"), 0o4755), withMode(dir("tmp"), 0o1777),
			{name: "xa", typ: tar.TypeReg, mode: 0o600, pax: map[string]string{"SCHILY.xattr.user.k": "v"}},
			file("été à/n m", "u"),
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var layers [][]byte
			for _, l := range tc.layers {
				layers = append(layers, mkLayer(t, l...))
			}
			out, err := flatten(t, layers...)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, out)
			sort.Slice(got, func(i, j int) bool { return got[i].name < got[j].name })
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(ent{})); d != "" {
				t.Errorf("flattened (-want +got):\n%s", d)
			}
		})
	}
}

func TestFlattenHardLinks(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]ent
		want   []ent // in output order
	}{{
		name:   "within one layer",
		layers: [][]ent{{file("a", "A"), hard("b", "a")}},
		want:   []ent{file("a", "A"), hard("b", "a")},
	}, {
		name:   "to a lower layer: the link comes first",
		layers: [][]ent{{file("a", "A")}, {hard("b", "a")}},
		want:   []ent{hard("b", "a"), file("a", "A")},
	}, {
		name:   "target replaced above keeps the old content",
		layers: [][]ent{{file("a", "old"), hard("b", "a"), hard("c", "a")}, {file("a", "new")}},
		want:   []ent{file("a", "new"), file("b", "old"), hard("c", "b")},
	}, {
		name:   "target removed above keeps the old content",
		layers: [][]ent{{file("a", "old")}, {hard("b", "a")}, {whiteout("", "a")}},
		want:   []ent{file("b", "old")},
	}, {
		name:   "link replaced above is not written",
		layers: [][]ent{{file("a", "A"), hard("b", "a")}, {file("b", "B")}},
		want:   []ent{file("b", "B"), file("a", "A")},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var layers [][]byte
			for _, l := range tc.layers {
				layers = append(layers, mkLayer(t, l...))
			}
			out, err := flatten(t, layers...)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, readAll(t, out), cmp.AllowUnexported(ent{})); d != "" {
				t.Errorf("flattened (-want +got):\n%s", d)
			}
		})
	}
}

// checkedStream fails Close when the stream was not read to its end or
// when bad says so: a digest check, as the importer's.
type checkedStream struct {
	io.Reader
	eof, bad bool
}

func (c *checkedStream) Read(p []byte) (int, error) {
	n, err := c.Reader.Read(p)
	c.eof = c.eof || err == io.EOF
	return n, err
}

func (c *checkedStream) Close() error {
	if !c.eof || c.bad {
		return errors.New("digest mismatch")
	}
	return nil
}

// The second read of a layer, for a hard link whose target a higher layer
// replaced, is read to its end and its Close error fails the flattening as
// the first read's does.
func TestFlattenSecondReadChecked(t *testing.T) {
	lower := mkLayer(t, file("a", "old"), hard("b", "a"))
	// What follows the end-of-archive marker is part of the stream too.
	lower = append(lower, make([]byte, 4096)...)
	s := streams(lower, mkLayer(t, file("a", "new")))
	opens := 0
	s[0].Open = func() (io.ReadCloser, error) {
		opens++
		return &checkedStream{Reader: bytes.NewReader(lower), bad: opens == 2}, nil
	}
	err := Flatten(context.Background(), s, io.Discard)
	if want := "reading layer 0 again: digest mismatch"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	if opens != 2 {
		t.Errorf("lower layer opened %d times, want 2", opens)
	}
}

func TestFlattenRefuses(t *testing.T) {
	tests := []struct {
		name   string
		layers [][]ent
		want   error  // matched with errors.Is when not nil
		msg    string // in the message
	}{
		{"dot dot", [][]ent{{file("a/../../etc/passwd", "x")}}, ErrDotDot, `entry "a/../../etc/passwd"`},
		{"absolute", [][]ent{{file("/etc/passwd", "x")}}, ErrAbsolute, `entry "/etc/passwd"`},
		{"symlink escape", [][]ent{{sym("a/b", "../../x")}}, ErrEscape, `entry "a/b"`},
		{"symlink escape from root", [][]ent{{sym("l", "..")}}, ErrEscape, `entry "l"`},
		{"hard link escape", [][]ent{{hard("l", "../etc/shadow")}}, ErrEscape, `entry "l"`},
		{"absolute hard link", [][]ent{{hard("l", "/etc/shadow")}}, ErrEscape, `entry "l"`},
		{"dangling hard link", [][]ent{{file("a", "")}, {hard("l", "nope")}}, nil, `"l": hard link to "nope": target is not in the image`},
		{"hard link to a directory", [][]ent{{dir("d"), hard("l", "d")}}, nil, "directory"},
		{"hard link to removed target", [][]ent{{whiteout("", "a"), hard("l", "a")}, {}}, nil, "not in the image"},
		{"volume header", [][]ent{{raw("v", 'V')}}, ErrUnsupported, `entry "v": unsupported entry type 'V'`},
		{"continuous file", [][]ent{{raw("c", tar.TypeCont)}}, ErrUnsupported, "'7'"},
		{"bad whiteout", [][]ent{{file("d/.wh..", "")}}, nil, "invalid whiteout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var layers [][]byte
			for _, l := range tc.layers {
				layers = append(layers, mkLayer(t, l...))
			}
			_, err := flatten(t, layers...)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "layer ") {
				t.Errorf("error %q does not name the layer", err)
			}
		})
	}
}

func TestFlattenCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Flatten(ctx, streams(mkLayer(t, file("a", "a"))), io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestFlattenStreams checks that file data is streamed, not buffered: a
// 256 MiB file must not make the flattener allocate anything near that.
func TestFlattenStreams(t *testing.T) {
	const size = 256 << 20
	layer := Stream{Name: "big", Open: func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "big", Size: size, Mode: 0o644})
			_, err := io.CopyN(tw, zeros{}, size)
			if err == nil {
				err = tw.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := &countWriter{}
	if err := Flatten(context.Background(), []Stream{layer}, n); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n.n < size {
		t.Fatalf("wrote %d bytes, want more than %d", n.n, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB for a %d MiB file", alloc>>20, size>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
