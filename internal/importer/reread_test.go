package importer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/testutil"
	"github.com/pcocc/pcocc/internal/transport"
)

// TestRebuildSecondReadDiffers: in layer 1, b is a hard link to a; layer 2
// replaces a, so b keeps layer 1's a, which only a second read of layer 1
// gives. When that second read returns other bytes than the stored blob's
// (a store changed under the rebuild), the rebuild fails naming the layer
// and leaves no squashfs: every byte of the image is covered by a verified
// digest.
func TestRebuildSecondReadDiffers(t *testing.T) {
	testutil.Need(t, "tar2sqfs", "rdsquashfs")
	l1 := layer(t, entry{typ: tar.TypeReg, name: "a", body: "GOOD"}, entry{typ: tar.TypeLink, name: "b", link: "a"})
	evil := layer(t, entry{typ: tar.TypeReg, name: "a", body: "EVIL"}, entry{typ: tar.TypeLink, name: "b", link: "a"})
	l2 := layer(t, entry{typ: tar.TypeReg, name: "a", body: "new"})
	sink := newDirSink(t)
	meta, err := importRef(t, makeOCI(t, [][]byte{gz(l1), gz(l2)}, ids(l1, l2)), sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := catSquashfs(t, sink.sqfs, "b"); got != "GOOD" {
		t.Fatalf("imported /b = %q, want the content layer 1 gave it", got)
	}
	for _, tc := range []struct {
		name   string
		second []byte
	}{
		{"gzip", gz(evil)},
		{"uncompressed", evil},
		{"same tar, other blob", gzLevel(l1, gzip.BestCompression)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads := 0
			open := func(d digest.Digest) (io.ReadCloser, error) {
				if d == meta.Layers[0].Digest {
					if reads++; reads == 2 {
						return io.NopCloser(bytes.NewReader(tc.second)), nil
					}
				}
				return sink.open(d)
			}
			out := filepath.Join(t.TempDir(), "rebuilt.sqfs")
			err := Rebuild(context.Background(), meta, open, out, Options{})
			want := "layer 1/2 (" + meta.Layers[0].Digest.Short() + ")"
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "does not match") ||
				strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line naming %s and the mismatch", err, want)
			}
			if reads != 2 {
				t.Errorf("layer 1 read %d times, want 2", reads)
			}
			noFile(t, out)
		})
	}
}

func gzLevel(b []byte, level int) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, level)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// The same holds for an import, whose source could change between its
// two reads: the import fails and nothing of the layer is kept.
func TestImportSecondReadDiffers(t *testing.T) {
	testutil.Need(t, "tar2sqfs")
	l1 := layer(t, entry{typ: tar.TypeReg, name: "a", body: "GOOD"}, entry{typ: tar.TypeLink, name: "b", link: "a"})
	evil := layer(t, entry{typ: tar.TypeReg, name: "a", body: "EVIL"}, entry{typ: tar.TypeLink, name: "b", link: "a"})
	l2 := layer(t, entry{typ: tar.TypeReg, name: "a", body: "new"})
	r, _ := transport.ParseRef(makeOCI(t, [][]byte{gz(l1), gz(l2)}, ids(l1, l2)))
	src, err := transport.Open(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img := src.(imagesrc.Layered)
	reads, first := 0, img.Layers()[0].Open
	img.Layers()[0].Open = func() (io.ReadCloser, error) {
		if reads++; reads == 2 {
			return io.NopCloser(bytes.NewReader(gz(evil))), nil
		}
		return first()
	}
	sink := newDirSink(t)
	_, err = Import(context.Background(), img, sink, Options{})
	want := "layer 1/2 (" + img.Layers()[0].Digest.Short() + ")"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("error %v, want one naming %s and the mismatch", err, want)
	}
	noFile(t, sink.sqfs)
}

// catSquashfs returns the content of a file of a squashfs image.
func catSquashfs(t *testing.T, img, name string) string {
	t.Helper()
	b, err := exec.Command("rdsquashfs", "-c", name, img).Output()
	if err != nil {
		t.Fatalf("rdsquashfs -c %s: %v", name, err)
	}
	return string(b)
}
