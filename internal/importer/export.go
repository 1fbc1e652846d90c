package importer

import (
	"context"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport"
)

// Export writes an imported image to dest (docker-archive:FILE[:REF],
// oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-daemon:REF) from its
// stored blobs, which open returns by digest: the transport writes it (see
// transport.Write), verifying each blob as it copies it.
func Export(ctx context.Context, meta *imagemeta.Meta, open func(digest.Digest) (io.ReadCloser, error), dest imagesrc.Ref) error {
	if len(meta.Layers) == 0 && meta.ConfigDigest == "" {
		return fmt.Errorf("exporting to %s: %w", dest, ErrNoLayers)
	}
	img, err := storedImage(meta, open)
	if err == nil {
		err = transport.Write(ctx, img, dest)
	}
	if err != nil {
		return fmt.Errorf("exporting to %s: %w", dest, err)
	}
	return nil
}

// storedImage is the image meta describes, read from the repository.
func storedImage(meta *imagemeta.Meta, open func(digest.Digest) (io.ReadCloser, error)) (imagesrc.Layered, error) {
	rc, err := open(meta.ConfigDigest)
	if err != nil {
		return nil, fmt.Errorf("reading image configuration: %w", err)
	}
	defer rc.Close()
	cfg, err := io.ReadAll(io.LimitReader(rc, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading image configuration: %w", err)
	}
	if digest.FromBytes(cfg) != meta.ConfigDigest {
		return nil, fmt.Errorf("stored configuration does not match its digest %s", meta.ConfigDigest)
	}
	layers := make([]imagesrc.Layer, len(meta.Layers))
	for i, l := range meta.Layers {
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %s: size unknown", l.Digest)
		}
		layers[i] = imagesrc.Layer{Digest: l.Digest, DiffID: l.DiffID, MediaType: l.MediaType, Size: l.Size,
			Open: func() (io.ReadCloser, error) { return open(l.Digest) }}
	}
	return imagesrc.NewLayered(imagesrc.Parts{Config: meta.Config, ConfigBlob: cfg, ConfigDigest: meta.ConfigDigest, Layers: layers}), nil
}
