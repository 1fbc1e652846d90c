package transport

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
)

// TestWriteRoundTrip writes the fixture with each writing transport and
// reads it back: the same configuration and layers, and a destination
// that is not written stays as it was.
func TestWriteRoundTrip(t *testing.T) {
	f := imagesrctest.Build(t)
	src, err := openLayered(context.Background(), ref(OCI, f.Layout, f.Tag))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dir := t.TempDir()
	for _, dest := range []imagesrc.Ref{
		ref(DockerArchive, filepath.Join(dir, "d.tar"), "x/y:1"),
		ref(OCIArchive, filepath.Join(dir, "o.tar"), "t1"),
		ref(OCI, filepath.Join(dir, "layout"), "t2"),
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
			imagesrctest.CheckImage(t, back)
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
	for _, dest := range []imagesrc.Ref{{Transport: SIF, Path: filepath.Join(dir, "x.sif")}, {Transport: Docker, Ref: "localhost/x"}} {
		if err := Write(context.Background(), src, dest); !errors.Is(err, imagesrc.ErrNotSupported) {
			t.Errorf("%s: error %v, want imagesrc.ErrNotSupported", dest, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.sif")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("x.sif: %v", err)
	}
	// A corrupt layer stops the write and leaves no file.
	layers := append([]imagesrc.Layer(nil), src.Layers()...)
	layers[0].Size++
	bad := imagesrc.NewLayered(imagesrc.Parts{Config: src.Config(), ConfigBlob: src.ConfigBlob(), ConfigDigest: src.ConfigDigest(), Layers: layers})
	dest := ref(DockerArchive, filepath.Join(dir, "bad.tar"), "")
	if err := Write(context.Background(), bad, dest); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Errorf("corrupt layer: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("files left: %v", ents)
	}
}
