package imagesrc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
)

// slowCloser takes its time to close, as a blob of a repository being
// read would: a generator left running would still be in Close.
type slowCloser struct {
	io.Reader
	open *atomic.Int32
}

func (s slowCloser) Close() error {
	time.Sleep(100 * time.Millisecond)
	s.open.Add(-1)
	return nil
}

// An engine that stops reading early (here after 8 KiB, with an error)
// makes the export fail with its error, and only once the archive
// generator has stopped and closed every blob it opened: its caller
// unlocks the repository next.
func TestStreamToEngineStopsGenerator(t *testing.T) {
	cfg := []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`)
	blob := bytes.Repeat([]byte("layer data "), 100000)
	var open atomic.Int32
	layer := Layer{Digest: sha(blob), Size: int64(len(blob)), Open: func() (io.ReadCloser, error) {
		open.Add(1)
		return slowCloser{bytes.NewReader(blob), &open}, nil
	}}
	e := &writer{ctx: context.Background(), img: NewLayered(imagemeta.Config{}, cfg, sha(cfg), []Layer{layer})}
	refused := errors.New("engine refused the archive")
	err := e.streamTo("x:1", func(r io.Reader) error {
		io.ReadFull(r, make([]byte, 8192))
		return refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("error %v, want the engine's", err)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d blobs still open when the export returned", n)
	}
}

// TestWriteRoundTrip writes the fixture with each writing transport and
// reads it back: the same configuration and layers, and a destination
// that is not written stays as it was.
func TestWriteRoundTrip(t *testing.T) {
	f := imagesrctest.Build(t)
	src, err := openLayered(context.Background(), Ref{Transport: OCI, Path: f.Layout, Ref: f.Tag})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	for _, dest := range []Ref{
		{Transport: DockerArchive, Path: filepath.Join(dir, "d.tar"), Ref: "x/y:1"},
		{Transport: OCIArchive, Path: filepath.Join(dir, "o.tar"), Ref: "t1"},
		{Transport: OCI, Path: filepath.Join(dir, "layout"), Ref: "t2"},
	} {
		t.Run(dest.Transport, func(t *testing.T) {
			if err := Write(context.Background(), src, dest); err != nil {
				t.Fatal(err)
			}
			back, err := openLayered(context.Background(), dest)
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			checkImage(t, back)
			if back.ConfigDigest() != src.ConfigDigest() || len(back.Layers()) != len(src.Layers()) {
				t.Fatalf("read back config %s, %d layers; wrote %s, %d", back.ConfigDigest(), len(back.Layers()),
					src.ConfigDigest(), len(src.Layers()))
			}
			for i, l := range back.Layers() {
				if l.Digest != src.Layers()[i].Digest || l.DiffID != src.Layers()[i].DiffID {
					t.Errorf("layer %d: %s (%s), wrote %s (%s)", i, l.Digest, l.DiffID, src.Layers()[i].Digest, src.Layers()[i].DiffID)
				}
			}
		})
	}
	for _, dest := range []Ref{{Transport: SIF, Path: filepath.Join(dir, "x.sif")}, {Transport: Docker, Ref: "localhost/x"}} {
		if err := Write(context.Background(), src, dest); !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s: error %v, want ErrNotSupported", dest, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.sif")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("x.sif: %v", err)
	}
	// A corrupt layer stops the write and leaves no file.
	bad := *src.(*layered)
	bad.layers = append([]Layer(nil), src.Layers()...)
	bad.layers[0].Size++
	dest := Ref{Transport: DockerArchive, Path: filepath.Join(dir, "bad.tar")}
	if err := Write(context.Background(), &bad, dest); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Errorf("corrupt layer: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("files left: %v", ents)
	}
}
