package layout

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/atomicfile"
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
)

// Writer writes a Layered image's blobs into a layout.
type Writer struct {
	Ctx context.Context
	Img imagesrc.Layered
}

// WriteArchive writes an archive file: gen generates it, tagged tag,
// into a temporary file renamed to path at the end.
func WriteArchive(ctx context.Context, img imagesrc.Layered, path, tag string, gen func(w *Writer, out io.Writer, tag string) error) error {
	w := &Writer{Ctx: ctx, Img: img}
	return WriteAtomically(path, func(out io.Writer) error { return gen(w, out, tag) })
}

// WriteAtomically writes path (mode 0644) through a temporary file renamed
// at the end (atomicfile).
func WriteAtomically(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
}

// CopyLayer copies a layer blob of known size and digest to w, verifying it.
func (e *Writer) CopyLayer(w io.Writer, l imagesrc.Layer) error {
	if err := e.Ctx.Err(); err != nil {
		return err
	}
	rc, err := l.Open()
	if err != nil {
		return fmt.Errorf("reading blob %s: %w", l.Digest, err)
	}
	defer rc.Close()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, l.Size+1))
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", l.Digest, err)
	}
	if got := h.Digest(); n != l.Size || got != l.Digest {
		return fmt.Errorf("stored blob %s is corrupt (%d bytes, digest %s)", l.Digest, n, got)
	}
	return nil
}

// TarBlobs writes the config and layer blobs into tw, each once, named by
// name (the configuration with the extension ".json", layers layerExt).
func (e *Writer) TarBlobs(tw *tar.Writer, name func(d digest.Digest, ext string) string, layerExt string) error {
	if err := TarFile(tw, name(e.Img.ConfigDigest(), ".json"), e.Img.ConfigBlob()); err != nil {
		return err
	}
	seen := map[digest.Digest]bool{}
	for _, l := range e.Img.Layers() {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name(l.Digest, layerExt), Size: l.Size, Mode: 0o644}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := e.CopyLayer(tw, l); err != nil {
			return err
		}
	}
	return nil
}

// TarFile writes a regular file of content b into tw.
func TarFile(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(b)), Mode: 0o644}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}
