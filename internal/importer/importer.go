// Package importer turns an image a transport opened (an imagesrc.Image)
// into what a repository keeps: the layer and configuration blobs, the
// metadata and one squashfs holding the flattened root filesystem. Each layer blob is read once: the
// same bytes are stored, hashed twice (blob digest and diff ID, both
// verified), decompressed, flattened and streamed into tar2sqfs.
package importer

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/progress"
	"github.com/pcocc/pcocc/internal/rootfs"
	"github.com/pcocc/pcocc/internal/squashfs"
)

// SquashfsFile is the file name Meta.Squashfs records.
const SquashfsFile = "rootfs.sqfs"

// Blob is where one blob is being stored. Close commits it; Abort drops
// it. Exactly one of them is called.
type Blob interface {
	io.WriteCloser
	Abort() error
}

// Sink is the repository transaction an image is imported into.
type Sink interface {
	// BlobWriter returns where to store the blob with this digest, or
	// (nil, nil) when the repository has it already.
	BlobWriter(d digest.Digest) (Blob, error)
	// SquashfsPath is where to build the squashfs (a temporary path of
	// the transaction).
	SquashfsPath() string
}

// Options tune Import, Rebuild and Export.
type Options struct {
	Compression string            // squashfs compression; "" is squashfs.DefaultCompression
	Progress    progress.Reporter // nil: no progress
	// FetchProgress follows the download of a streamed source (docker-daemon,
	// docker://) before it is flattened; nil: no progress.
	FetchProgress progress.Reporter
	Log           *slog.Logger // nil: no log
}

func (o Options) withDefaults() Options {
	if o.Progress == nil {
		o.Progress = progress.Nop()
	}
	if o.FetchProgress == nil {
		o.FetchProgress = progress.Nop()
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Import stores img into sink and builds its squashfs at sink.SquashfsPath.
// On error the caller discards the transaction: blobs already committed to
// it are verified ones, but the image is not complete.
func Import(ctx context.Context, src imagesrc.Image, sink Sink, opt Options) (*imagemeta.Meta, error) {
	opt = opt.withDefaults()
	if s, ok := src.(imagesrc.Streamed); ok {
		l, err := fetch(ctx, s, sink, opt)
		if err != nil {
			return nil, err
		}
		src = l
	}
	if s, ok := src.(imagesrc.SquashfsImage); ok {
		return importSquashfs(ctx, s.Squashfs(), sink, opt)
	}
	img, ok := src.(imagesrc.Layered)
	if !ok {
		return nil, fmt.Errorf("the source gives neither layers nor a squashfs (%T)", src)
	}
	cfg := img.Config()
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if err := storeConfig(img, sink); err != nil {
		return nil, err
	}
	p, err := newPipeline(img.Layers(), sink, opt)
	if err != nil {
		return nil, err
	}
	out := sink.SquashfsPath()
	opt.Log.Info("importing image", "digest", img.Digest(), "layers", len(img.Layers()), "squashfs", out)
	if err := p.run(ctx, out, opt.Compression); err != nil {
		return nil, err
	}
	sq, err := squashfsMeta(out, opt.Compression)
	if err != nil {
		return nil, err
	}
	return &imagemeta.Meta{
		Format:       imagemeta.FormatVersion,
		Type:         imagemeta.TypeContainer,
		Config:       cfg,
		Origin:       imagemeta.Origin{Digest: img.Digest()},
		ConfigDigest: img.ConfigDigest(),
		Layers:       p.metaLayers(),
		Squashfs:     sq,
	}, nil
}

// Rebuild builds the squashfs of an imported image at out from its stored
// layers, which open returns by digest. They are verified again.
func Rebuild(ctx context.Context, meta *imagemeta.Meta, open func(digest.Digest) (io.ReadCloser, error), out string, opt Options) error {
	opt = opt.withDefaults()
	if opt.Compression == "" && meta.Squashfs != nil {
		opt.Compression = meta.Squashfs.Compression
	}
	layers := make([]imagesrc.Layer, len(meta.Layers))
	for i, l := range meta.Layers {
		layers[i] = imagesrc.Layer{Digest: l.Digest, DiffID: l.DiffID, MediaType: l.MediaType, Size: l.Size,
			Open: func() (io.ReadCloser, error) { return open(l.Digest) }}
	}
	p, err := newPipeline(layers, nil, opt)
	if err != nil {
		return err
	}
	opt.Log.Info("rebuilding squashfs", "layers", len(layers), "squashfs", out)
	return p.run(ctx, out, opt.Compression)
}

func storeConfig(img imagesrc.Layered, sink Sink) error {
	blob, want := img.ConfigBlob(), img.ConfigDigest()
	if got := digest.FromBytes(blob); got != want {
		return fmt.Errorf("image configuration does not match its digest %s (got %s)", want, got)
	}
	w, err := sink.BlobWriter(want)
	if err != nil || w == nil {
		return err
	}
	if _, err := w.Write(blob); err != nil {
		w.Abort()
		return fmt.Errorf("storing image configuration: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("storing image configuration: %w", err)
	}
	return nil
}

func squashfsMeta(out, compression string) (*imagemeta.Squashfs, error) {
	fi, err := os.Stat(out)
	if err != nil {
		return nil, fmt.Errorf("reading built squashfs: %w", err)
	}
	return &imagemeta.Squashfs{File: SquashfsFile, Size: fi.Size(), Compression: squashfs.Effective(compression)}, nil
}

// run flattens the layers into tar2sqfs, building out.
func (p *pipeline) run(ctx context.Context, out, compression string) error {
	p.opt.Progress.Start(p.total(), len(p.layers))
	defer p.opt.Progress.Done()
	flatten := func(ctx context.Context, w io.Writer) error { return rootfs.Flatten(ctx, p.streams(), w) }
	return squashfs.BuildFrom(ctx, flatten, out, squashfs.BuildOptions{Compression: compression})
}
