// Package rootfs turns the layers of a container image into one tar stream
// holding the root filesystem, validating every entry on the way: the layers
// come from the user and are treated as hostile.
package rootfs

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Stream is one layer: an uncompressed tar stream.
type Stream struct {
	// Name identifies the layer in error messages (a digest, an index).
	Name string
	// Open returns the layer's tar stream. Flatten calls it once per layer
	// (top layer first) and reads it to EOF, so a wrapper may hash it; a
	// second call happens only for a hard link whose target a higher layer
	// replaced, to fetch the old content.
	Open func() (io.ReadCloser, error)
}

// Whiteout markers (OCI image spec, "Representing Changes").
const (
	whPrefix = ".wh."
	whMeta   = ".wh..wh."
	whOpaque = ".wh..wh..opq"
)

// Flatten writes to w one tar stream holding the union of the layers, given
// bottom first. It reads each layer once, top first, and writes each path
// once, from the highest layer holding it: whiteouts and opaque directories
// hide what lower layers hold, a non-directory hides everything below its
// path, directories merge. Memory grows with the number of paths, not with
// their size. Every entry is checked with ValidateEntry; hard link targets
// must exist in the result. Errors name the layer and the entry.
func Flatten(ctx context.Context, layers []Stream, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	f := &flattener{
		ctx:    ctx,
		layers: layers,
		tw:     tar.NewWriter(bw),
		nodes:  map[string]node{},
		links:  map[string]string{},
		buf:    make([]byte, 256<<10),
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := f.layer(i); err != nil {
			return err
		}
	}
	if err := f.finish(); err != nil {
		return err
	}
	if err := f.tw.Close(); err != nil {
		return fmt.Errorf("writing root filesystem: %w", err)
	}
	return bw.Flush()
}

type kind uint8

const (
	absent      kind = iota // only whiteout information recorded
	implicitDir             // parent of an emitted entry, no entry of its own yet
	dirNode
	fileNode // any non-directory but a hard link
	linkNode // hard link
)

// node is what is known of one path ("" is the root). Layers are numbered
// bottom first. hideSelf: entries of layers below hideSelf at this path or
// under it are hidden (a whiteout in layer hideSelf, or a non-directory in
// layer hideSelf-1); hideKids: entries of layers below hideKids strictly
// under this path are hidden (opaque directory). Zero hides nothing, as a
// whiteout in the bottom layer has nothing to hide.
type node struct {
	kind     kind
	layer    int32
	hideSelf int32
	hideKids int32
}

type flattener struct {
	ctx      context.Context
	layers   []Stream
	tw       *tar.Writer
	nodes    map[string]node
	links    map[string]string // emitted hard link -> target
	deferred []deferredLink
	buf      []byte
}

// layer copies the visible entries of layer i.
func (f *flattener) layer(i int) error {
	rc, err := f.layers[i].Open()
	if err != nil {
		return fmt.Errorf("opening layer %s: %w", f.layers[i].Name, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		if err := f.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading layer %s: %w", f.layers[i].Name, streamError(err))
		}
		if err := f.entry(i, h, tr); err != nil {
			return fmt.Errorf("layer %s: entry %q: %w", f.layers[i].Name, h.Name, err)
		}
	}
	// Read what follows the end-of-archive marker so that a truncated
	// compressed stream or a digest check in rc sees the whole layer.
	if _, err := io.CopyBuffer(io.Discard, rc, f.buf); err != nil {
		return fmt.Errorf("reading layer %s: %w", f.layers[i].Name, err)
	}
	if err := rc.Close(); err != nil {
		return fmt.Errorf("reading layer %s: %w", f.layers[i].Name, err)
	}
	return nil
}

func (f *flattener) entry(i int, h *tar.Header, r io.Reader) error {
	name, link, err := ValidateEntry(h)
	if err != nil {
		return err
	}
	if name == Root {
		return nil // the squashfs root keeps fixed attributes
	}
	dir, base := split(name)
	switch {
	case base == whOpaque:
		f.hide(dir, i, false)
		return nil
	case strings.HasPrefix(name, whMeta) || strings.Contains(name, "/"+whMeta):
		return nil // aufs bookkeeping, never part of the image
	case strings.HasPrefix(base, whPrefix):
		target := base[len(whPrefix):]
		if target == "" || target == "." || target == ".." {
			return errors.New("invalid whiteout")
		}
		f.hide(join(dir, target), i, true)
		return nil
	}
	if !f.visible(name, i, h.Typeflag == tar.TypeDir) {
		return nil
	}
	if h.Typeflag == tar.TypeLink {
		return f.hardLink(i, name, link, h)
	}
	return f.emit(i, name, h, r)
}

// hide records a whiteout (self) or an opaque directory (!self) of layer i.
func (f *flattener) hide(p string, i int, self bool) {
	n := f.nodes[p]
	if self {
		n.hideSelf = max(n.hideSelf, int32(i))
	} else {
		n.hideKids = max(n.hideKids, int32(i))
	}
	f.nodes[p] = n
}

// visible tells whether an entry of layer i at path p is to be written: no
// entry was written at p yet (except a directory made implicitly, which a
// directory entry completes) and nothing above hides p.
func (f *flattener) visible(p string, i int, isDir bool) bool {
	if n, ok := f.nodes[p]; ok && n.kind != absent {
		return n.kind == implicitDir && isDir
	}
	return !f.hidden(p, i)
}

func (f *flattener) hidden(p string, i int) bool {
	li := int32(i)
	if n, ok := f.nodes[p]; ok && n.hideSelf > li {
		return true
	}
	for a := p; a != ""; {
		a, _ = split(a) // "" is the root
		if n, ok := f.nodes[a]; ok && (n.hideSelf > li || n.hideKids > li) {
			return true
		}
	}
	return false
}

// emit writes the entry and records it; its parents become directories.
func (f *flattener) emit(i int, name string, h *tar.Header, r io.Reader) error {
	if err := f.write(name, "", h, r); err != nil {
		return err
	}
	k := fileNode
	switch h.Typeflag {
	case tar.TypeDir:
		k = dirNode
	case tar.TypeLink:
		k = linkNode
	}
	f.record(i, name, k)
	return nil
}

func (f *flattener) record(i int, name string, k kind) {
	n := f.nodes[name]
	n.kind, n.layer = k, int32(i)
	if k != dirNode {
		n.hideSelf = max(n.hideSelf, int32(i)+1) // hides lower entries under it
	}
	f.nodes[name] = n
	for a, _ := split(name); a != ""; a, _ = split(a) {
		p := f.nodes[a]
		if p.kind != absent {
			break // its parents are recorded already
		}
		p.kind, p.layer = implicitDir, int32(i)
		f.nodes[a] = p
	}
}

// write copies one entry to the output under a new name, keeping every
// attribute the squashfs can hold.
func (f *flattener) write(name, link string, h *tar.Header, r io.Reader) error {
	out := &tar.Header{
		Typeflag:   h.Typeflag,
		Name:       name,
		Linkname:   h.Linkname,
		Size:       h.Size,
		Mode:       h.Mode,
		Uid:        h.Uid,
		Gid:        h.Gid,
		Uname:      h.Uname,
		Gname:      h.Gname,
		ModTime:    h.ModTime,
		Devmajor:   h.Devmajor,
		Devminor:   h.Devminor,
		PAXRecords: extraRecords(h.PAXRecords),
	}
	switch h.Typeflag {
	case tar.TypeGNUSparse:
		out.Typeflag = tar.TypeReg // archive/tar expanded sparse data already
	case tar.TypeLink:
		out.Linkname = link
	}
	if out.Typeflag != tar.TypeReg {
		out.Size = 0
	}
	if err := f.tw.WriteHeader(out); err != nil {
		return fmt.Errorf("writing entry: %w", err)
	}
	if out.Size == 0 {
		return nil
	}
	if _, err := io.CopyBuffer(f.tw, r, f.buf); err != nil {
		return fmt.Errorf("copying data: %w", streamError(err))
	}
	return nil
}

// extraRecords keeps the PAX records archive/tar does not derive from the
// header fields: extended attributes mostly.
func extraRecords(in map[string]string) map[string]string {
	var out map[string]string
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, "GNU.sparse."):
		case k == "path", k == "linkpath", k == "size", k == "uid", k == "gid",
			k == "uname", k == "gname", k == "mtime", k == "atime", k == "ctime":
		default:
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

func split(p string) (dir, base string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func join(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}

// streamError says what a low-level read error means for a layer.
func streamError(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("truncated or corrupt layer: %w", err)
	case errors.Is(err, tar.ErrHeader):
		return fmt.Errorf("not a valid tar stream: %w", err)
	}
	return err
}
