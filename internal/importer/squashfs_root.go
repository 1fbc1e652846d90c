package importer

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// importSquashfs copies a source's squashfs as it is (no decompression, no
// recompression: the image keeps the SIF's compression and layout), then
// reads the image configuration out of the copy.
func importSquashfs(ctx context.Context, root *imagesrc.SquashfsRoot, sink Sink, opt Options) (*imagemeta.Meta, error) {
	out := sink.SquashfsPath()
	opt.Log.Info("copying squashfs", "size", root.Size, "squashfs", out)
	d, err := copySquashfs(ctx, root, out, opt)
	if err != nil {
		return nil, fmt.Errorf("copying the squashfs: %w", err)
	}
	comp, err := squashfsCompression(out)
	if err != nil {
		return nil, err
	}
	cfg, warnings, err := root.Config(ctx, out)
	if err != nil {
		return nil, fmt.Errorf("reading the image configuration: %w", err)
	}
	for _, w := range warnings {
		opt.Log.Warn(w)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	return &imagemeta.Meta{
		Format:   imagemeta.FormatVersion,
		Type:     imagemeta.TypeContainer,
		Config:   cfg,
		Origin:   imagemeta.Origin{Digest: d},
		Squashfs: &imagemeta.Squashfs{File: SquashfsFile, Size: root.Size, Compression: comp},
	}, nil
}

// copySquashfs copies the squashfs to out and returns its digest.
func copySquashfs(ctx context.Context, root *imagesrc.SquashfsRoot, out string, opt Options) (digest.Digest, error) {
	rc, err := root.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	opt.Progress.Start(root.Size, 1)
	defer opt.Progress.Done()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(f, h), opt.Progress.Reader(ctxReader{ctx, rc}))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != root.Size {
		err = fmt.Errorf("read %d bytes of %d", n, root.Size)
	}
	if err != nil {
		os.Remove(out)
		return "", err
	}
	opt.Progress.LayerDone()
	return h.Digest(), nil
}

// squashfsCompression reads the compressor of a squashfs from its superblock.
func squashfsCompression(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sb, err := sqfsformat.ReadSuperblock(f, 0)
	if err != nil {
		return "", fmt.Errorf("the copied file: %w", err)
	}
	return sb.CompressorName(), nil
}

// ContextReader reads r until ctx is cancelled: a long copy (a large
// file) stops at Ctrl-C.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
