package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// ent describes one tar entry of a test layer, or of a flattened result.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
	uid  int
	pax  map[string]string
}

func file(name, body string) ent { return ent{name: name, typ: tar.TypeReg, body: body, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func hard(name, target string) ent {
	return ent{name: name, typ: tar.TypeLink, link: target, mode: 0o644}
}
func sym(name, target string) ent {
	return ent{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}
func withMode(e ent, m int64) ent    { e.mode = m; return e }
func withOwner(e ent, uid int) ent   { e.uid = uid; return e }
func raw(name string, typ byte) ent  { return ent{name: name, typ: typ, mode: 0o644} }
func whiteout(dirName, n string) ent { return file(join(dirName, whPrefix+n), "") }
func opaque(dirName string) ent      { return file(join(dirName, whOpaque), "") }

var epoch = time.Unix(1700000000, 0)

func mkLayer(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: e.mode,
			Uid: e.uid, Gid: e.uid, ModTime: epoch, PAXRecords: e.pax, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("writing %q: %v", e.name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func streams(layers ...[]byte) []Stream {
	var s []Stream
	for i, l := range layers {
		s = append(s, Stream{Name: string(rune('0' + i)), Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(l)), nil
		}})
	}
	return s
}

// readAll lists a tar stream's entries in order.
func readAll(t testing.TB, data []byte) []ent {
	t.Helper()
	var out []ent
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		var pax map[string]string
		for k, v := range h.PAXRecords {
			if len(k) > 6 && k[:6] == "SCHILY" {
				if pax == nil {
					pax = map[string]string{}
				}
				pax[k] = v
			}
		}
		out = append(out, ent{name: h.Name, typ: h.Typeflag, body: string(b), link: h.Linkname,
			mode: h.Mode, uid: h.Uid, pax: pax})
	}
}

func flatten(t testing.TB, layers ...[]byte) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := Flatten(context.Background(), streams(layers...), &out)
	return out.Bytes(), err
}
