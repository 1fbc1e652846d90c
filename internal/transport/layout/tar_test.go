package layout

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
)

// archive writes a tar of a file, a relative symbolic link to it, a hard
// link, a chain of two links and a loop; gzipped when zip is set.
func archive(t *testing.T, zip bool) string {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	body := strings.Repeat("blob ", 1000)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "./blobs/x.tar", Size: int64(len(body)), Mode: 0o644})
	io.WriteString(tw, body)
	for name, target := range map[string]string{"id/layer.tar": "../blobs/x.tar", "chain": "id/layer.tar", "loop1": "loop2", "loop2": "loop1"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeLink, Name: "hard", Linkname: "blobs/x.tar"})
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "dir/", Mode: 0o755})
	tw.Close()
	data := b.Bytes()
	if zip {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data = z.Bytes()
	}
	p := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Members are read in place, or by decompressing again (a compressed
// archive), through links inside the archive; what is not a regular file
// says so.
func TestTar(t *testing.T) {
	want := strings.Repeat("blob ", 1000)
	for _, zip := range []bool{false, true} {
		st, err := OpenTar(archive(t, zip))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for _, name := range []string{"blobs/x.tar", "/blobs/x.tar", "id/layer.tar", "chain", "hard"} {
			rc, size, err := st.Open(name)
			if err != nil {
				t.Fatalf("gzip %v: %s: %v", zip, name, err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != want || size != int64(len(want)) {
				t.Errorf("gzip %v: %s: %d bytes (size %d)", zip, name, len(got), size)
			}
		}
		for name, msg := range map[string]string{"loop1": "too many levels of links", "dir": "not a regular file", "nope": "file does not exist"} {
			if _, _, err := st.Open(name); err == nil || !strings.Contains(err.Error(), msg) {
				t.Errorf("gzip %v: %s: error %v, want %q", zip, name, err, msg)
			}
		}
		if _, _, err := st.Open("nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("missing member: %v, want fs.ErrNotExist", err)
		}
		if !st.Has("./chain") || st.Has("nope") || st.KnownDigest("blobs/x.tar") != "" {
			t.Errorf("Has or KnownDigest of a file's member")
		}
	}
}

// A file that is not a whole archive is refused with one line naming it.
func TestOpenTarFaults(t *testing.T) {
	dir := t.TempDir()
	full, _ := os.ReadFile(archive(t, false))
	cut := filepath.Join(dir, "cut.tar")
	os.WriteFile(cut, full[:1024], 0o644) // a header whose data is missing
	empty := filepath.Join(dir, "empty.tar")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "text.tar")
	os.WriteFile(text, bytes.Repeat([]byte("not a tar\n"), 200), 0o644)
	for p, msg := range map[string]string{cut: "truncated", empty: "is empty", text: "is not a tar archive", dir: "is a directory"} {
		if _, err := OpenTar(p); err == nil || !strings.Contains(err.Error(), msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", p, err, msg)
		}
	}
}

// A stream keeps small members in memory and large ones in the spool,
// each with the digest computed as it passed.
func TestReadStream(t *testing.T) {
	big := bytes.Repeat([]byte{7}, spoolAbove+1)
	small := []byte("small")
	data := imagesrctest.TarOf(t, map[string][]byte{"big": big, "small": small})
	sp := &imagesrctest.DirSpool{Dir: t.TempDir()}
	st, err := ReadStream(bytes.NewReader(data), sp)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Puts() != 1 || st.KnownDigest("big") != imagesrctest.Sha(big) || st.KnownDigest("small") != imagesrctest.Sha(small) {
		t.Errorf("%d spooled, digests %s %s", sp.Puts(), st.KnownDigest("big"), st.KnownDigest("small"))
	}
	for name, body := range map[string][]byte{"big": big, "small": small} {
		rc, size, err := st.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, body) || size != int64(len(body)) {
			t.Errorf("%s: %d bytes, size %d", name, len(got), size)
		}
	}
}
