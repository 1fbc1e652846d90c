package ocilayout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
)

func TestOpenOCIFaults(t *testing.T) {
	f := imagesrctest.Build(t)
	r := imagesrc.Ref{Transport: DirName, Form: imagesrc.DirRef, Path: f.Layout}
	// The layout holds base, v1, v2 and multi.
	if _, err := OpenDir(context.Background(), r); err == nil || !strings.Contains(err.Error(), "name one with :TAG") {
		t.Errorf("several images, no tag: error %v", err)
	}
	r.Ref = "nope"
	if _, err := OpenDir(context.Background(), r); err == nil || !strings.Contains(err.Error(), `unknown tag "nope"`) {
		t.Errorf("unknown tag: error %v", err)
	}
	// A layer blob removed from the layout.
	r.Ref = "multi"
	opened, err := OpenDir(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	img := opened.(imagesrc.Layered)
	blob := blobName(img.Layers()[2].Digest, "")
	if err := os.Remove(filepath.Join(f.Layout, blob)); err != nil {
		t.Fatal(err)
	}
	_, err = OpenDir(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "manifest names missing blob "+img.Layers()[2].Digest.String()) {
		t.Errorf("missing blob: error %v", err)
	}
}
