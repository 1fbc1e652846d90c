package dockerarchive

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

// Write writes img as the docker-archive file ref.Path, tagged ref.Ref.
func Write(ctx context.Context, img imagesrc.Layered, ref imagesrc.Ref) error {
	return layout.WriteArchive(ctx, img, ref.Path, ref.Ref, Generate)
}

// Generate writes the layout of `docker save` / `podman save` to out:
// layers named <digest>.tar (docker load takes compressed ones too).
func Generate(e *layout.Writer, out io.Writer, tag string) error {
	tw := tar.NewWriter(out)
	var layers []digest.Digest
	for _, l := range e.Img.Layers() {
		layers = append(layers, l.Digest)
	}
	m := newManifest(e.Img.ConfigDigest(), layers, tag)
	if err := e.TarBlobs(tw, blobName, ".tar"); err != nil {
		return err
	}
	mj, _ := json.Marshal([]Manifest{m})
	if err := layout.TarFile(tw, "manifest.json", mj); err != nil {
		return err
	}
	return tw.Close()
}
