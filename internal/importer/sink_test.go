package importer

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
)

// dirSink is a Sink storing blobs as files named by digest.
type dirSink struct {
	dir     string
	sqfs    string
	commits int
}

func newDirSink(t *testing.T) *dirSink {
	d := t.TempDir()
	return &dirSink{dir: d, sqfs: filepath.Join(d, "rootfs.sqfs.tmp")}
}

func (s *dirSink) path(d digest.Digest) string {
	return filepath.Join(s.dir, d.Hex())
}

func (s *dirSink) BlobWriter(d digest.Digest) (Blob, error) {
	if _, err := os.Stat(s.path(d)); err == nil {
		return nil, nil
	}
	f, err := os.CreateTemp(s.dir, "blob.tmp*")
	if err != nil {
		return nil, err
	}
	return &fileBlob{f: f, final: s.path(d), sink: s}, nil
}

func (s *dirSink) SquashfsPath() string { return s.sqfs }

func (s *dirSink) open(d digest.Digest) (io.ReadCloser, error) { return os.Open(s.path(d)) }

type fileBlob struct {
	f     *os.File
	final string
	sink  *dirSink
}

func (b *fileBlob) Write(p []byte) (int, error) { return b.f.Write(p) }

func (b *fileBlob) Close() error {
	if err := b.f.Close(); err != nil {
		return err
	}
	b.sink.commits++
	return os.Rename(b.f.Name(), b.final)
}

func (b *fileBlob) Abort() error {
	b.f.Close()
	return os.Remove(b.f.Name())
}

// blobs lists the committed blobs; leftovers of aborted ones fail the test.
func (s *dirSink) blobs(t *testing.T) []digest.Digest {
	t.Helper()
	var out []digest.Digest
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		switch {
		case strings.HasPrefix(e.Name(), "blob.tmp"):
			t.Errorf("blob left behind: %s", e.Name())
		case e.Name() == filepath.Base(s.sqfs):
		default:
			out = append(out, digest.Digest("sha256:"+e.Name()))
		}
	}
	return out
}

func noFile(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left behind (%v)", p, err)
	}
}
