package importer

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/testutil"
)

// stageSink is a dirSink that can also stage streamed blobs.
type stageSink struct {
	*dirSink
	tmp string
}

func (s stageSink) Dir() string { return s.tmp }

func (s stageSink) LinkBlob(d digest.Digest, p string) error {
	if _, err := os.Stat(s.path(d)); err == nil {
		return nil
	}
	return os.Link(p, s.path(d))
}

// A source's squashfs is copied byte for byte; its compression is read
// from the superblock and the configuration from the copy.
func TestImportSquashfsAsIs(t *testing.T) {
	testutil.Need(t, "gensquashfs")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), []byte("content"), 0o644)
	sq := filepath.Join(t.TempDir(), "in.sqfs")
	if b, err := exec.Command("gensquashfs", "-q", "-D", dir, "-c", "xz", sq).CombinedOutput(); err != nil {
		t.Fatalf("gensquashfs: %v\n%s", err, b)
	}
	raw, _ := os.ReadFile(sq)
	var readFrom string
	img := squashfsSource{&imagesrc.SquashfsRoot{
		Size: int64(len(raw)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		Config: func(_ context.Context, p string) (imagemeta.Config, []string, error) {
			readFrom = p
			return imagemeta.Config{Env: []string{"A=1"}}, []string{"a warning"}, nil
		},
	}}
	sink := newDirSink(t)
	meta, err := Import(context.Background(), img, sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(sink.sqfs)
	if !bytes.Equal(got, raw) || readFrom != sink.sqfs {
		t.Errorf("squashfs not copied as is (%d bytes of %d), configuration read from %q", len(got), len(raw), readFrom)
	}
	if meta.Squashfs == nil || meta.Squashfs.Compression != "xz" || meta.Squashfs.Size != int64(len(raw)) ||
		len(meta.Layers) != 0 || meta.ConfigDigest != "" || meta.Origin.Digest != sha(raw) ||
		strings.Join(meta.Config.Env, ",") != "A=1" {
		t.Errorf("meta %+v, squashfs %+v", meta, meta.Squashfs)
	}
	if len(sink.blobs(t)) != 0 {
		t.Errorf("blobs stored for a squashfs source: %v", sink.blobs(t))
	}
}

// A squashfs source that is not a squashfs fails, leaving no file.
func TestImportSquashfsGarbage(t *testing.T) {
	raw := []byte("this is not a squashfs superblock at all, but it is long enough to read one: " + strings.Repeat("x", 100))
	img := squashfsSource{&imagesrc.SquashfsRoot{Size: int64(len(raw)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		Config: func(context.Context, string) (imagemeta.Config, []string, error) {
			t.Error("config read")
			return imagemeta.Config{}, nil, nil
		},
	}}
	_, err := Import(context.Background(), img, newDirSink(t), Options{})
	if err == nil || !strings.Contains(err.Error(), "not a squashfs") {
		t.Errorf("error %v", err)
	}
	// A short read is an error too.
	img.root.Size++
	if _, err := Import(context.Background(), img, newDirSink(t), Options{}); err == nil || !strings.Contains(err.Error(), "read") {
		t.Errorf("short read: %v", err)
	}
}

// A streamed source keeps its blobs through the spool; a digest mismatch
// stops the import and keeps nothing.
func TestImportFetch(t *testing.T) {
	sink := stageSink{newDirSink(t), t.TempDir()}
	blob := []byte("blob content")
	var spooled imagesrc.Spooled
	img := fetchSource(func(_ context.Context, sp imagesrc.Spool) error {
		sp.Expect(int64(len(blob)), 1)
		var err error
		spooled, err = sp.Put(bytes.NewReader(blob), sha(blob))
		return err
	})
	if _, err := fetch(context.Background(), img, sink, Options{}.withDefaults()); err != nil {
		t.Fatal(err)
	}
	if spooled.Digest != sha(blob) || spooled.Size != int64(len(blob)) {
		t.Errorf("spooled %+v", spooled)
	}
	if got := sink.blobs(t); len(got) != 1 || got[0] != sha(blob) {
		t.Errorf("staged %v", got)
	}
	rc, err := spooled.Open()
	if err != nil {
		t.Fatal(err)
	}
	back, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(back, blob) {
		t.Errorf("read back %q", back)
	}

	bad := stageSink{newDirSink(t), t.TempDir()}
	img = fetchSource(func(_ context.Context, sp imagesrc.Spool) error {
		_, err := sp.Put(bytes.NewReader(blob), digest.Digest("sha256:"+strings.Repeat("0", 64)))
		return err
	})
	_, err = fetch(context.Background(), img, bad, Options{}.withDefaults())
	if err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("mismatch: %v", err)
	}
	if got := bad.blobs(t); len(got) != 0 {
		t.Errorf("a mismatching blob was staged: %v", got)
	}
	if ents, _ := os.ReadDir(bad.tmp); len(ents) != 0 {
		t.Errorf("spool file left behind: %v", ents)
	}
	// A sink that cannot stage refuses streamed sources.
	if _, err := fetch(context.Background(), img, newDirSink(t), Options{}.withDefaults()); err == nil {
		t.Error("a sink without Stager accepted a streamed source")
	}
}

// squashfsSource is an imagesrc.SquashfsImage.
type squashfsSource struct{ root *imagesrc.SquashfsRoot }

func (squashfsSource) Digest() digest.Digest              { return "" }
func (squashfsSource) Close() error                       { return nil }
func (s squashfsSource) Squashfs() *imagesrc.SquashfsRoot { return s.root }

// fetchSource is an imagesrc.Streamed image: the function keeps blobs.
type fetchSource func(ctx context.Context, sp imagesrc.Spool) error

func (fetchSource) Digest() digest.Digest { return "" }
func (fetchSource) Close() error          { return nil }
func (f fetchSource) Fetch(ctx context.Context, sp imagesrc.Spool) (imagesrc.Layered, error) {
	return nil, f(ctx, sp)
}
