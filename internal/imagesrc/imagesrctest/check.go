package imagesrctest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/rootfs"
)

// Sha is the digest of b.
func Sha(b []byte) digest.Digest { return digest.FromBytes(b) }

// CheckImage is the conformance check every transport passes: the blobs
// match the digests the image states.
func CheckImage(t *testing.T, img imagesrc.Layered) {
	t.Helper()
	if Sha(img.ConfigBlob()) != img.ConfigDigest() || img.Digest().Validate() != nil {
		t.Errorf("config digest %s, image digest %s", img.ConfigDigest(), img.Digest())
	}
	for i, l := range img.Layers() {
		rc, err := l.Open()
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		blob, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if Sha(blob) != l.Digest || (l.Size >= 0 && int64(len(blob)) != l.Size) {
			t.Errorf("layer %d: digest %s size %d, stated %s %d", i, Sha(blob), len(blob), l.Digest, l.Size)
		}
		dr, err := rootfs.Decompress(bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(dr)
		if err != nil || Sha(plain) != l.DiffID {
			t.Errorf("layer %d: diff ID %s, stated %s (%v)", i, Sha(plain), l.DiffID, err)
		}
	}
}

// DirSpool is an imagesrc.Spool keeping blobs as files of a directory.
type DirSpool struct {
	Dir  string
	mu   sync.Mutex
	puts int
}

// Expect does nothing.
func (s *DirSpool) Expect(int64, int) {}

// Put keeps r as a file of s.Dir.
func (s *DirSpool) Put(r io.Reader, want digest.Digest) (imagesrc.Spooled, error) {
	f, err := os.CreateTemp(s.Dir, "blob")
	if err != nil {
		return imagesrc.Spooled{}, err
	}
	defer f.Close()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return imagesrc.Spooled{}, err
	}
	if want != "" && h.Digest() != want {
		return imagesrc.Spooled{}, fmt.Errorf("blob does not match its digest %s", want)
	}
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	name := f.Name()
	return imagesrc.Spooled{Digest: h.Digest(), Size: n, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, nil
}

// Puts is how many blobs were kept.
func (s *DirSpool) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}

// TarOf is a tar archive of files.
func TarOf(t *testing.T, files map[string][]byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
