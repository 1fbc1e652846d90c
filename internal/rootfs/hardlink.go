package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"
)

// deferredLink is a hard link of layer `layer` whose target a higher layer
// replaced or removed: the link keeps the old content, which only a second
// read of a lower layer can give (the stream has gone past it).
type deferredLink struct {
	layer  int
	name   string
	target string
}

// hardLink handles a visible hard link entry of layer i.
func (f *flattener) hardLink(i int, name, target string, h *tar.Header) error {
	tn := f.nodes[target]
	switch {
	case tn.kind == dirNode || tn.kind == implicitDir:
		return fmt.Errorf("hard link to directory %q", target)
	case tn.kind != absent && tn.layer > int32(i),
		tn.kind == absent && f.hidden(target, i):
		f.deferred = append(f.deferred, deferredLink{layer: i, name: name, target: target})
		f.record(i, name, fileNode) // becomes a regular file in finish
		return nil
	}
	// The target is in this layer (written already) or in a lower one
	// (written later): tar2sqfs resolves links to later entries; finish
	// checks that the target exists.
	if err := f.write(name, target, h, nil); err != nil {
		return err
	}
	f.record(i, name, linkNode)
	f.links[name] = target
	return nil
}

// finish writes the deferred hard links and checks every hard link target.
func (f *flattener) finish() error {
	if err := f.resolveDeferred(); err != nil {
		return err
	}
	for name, target := range f.links {
		if err := f.checkLink(target); err != nil {
			l := f.layers[f.nodes[name].layer].Name
			return fmt.Errorf("layer %s: entry %q: hard link to %q: %w", l, name, target, err)
		}
	}
	return nil
}

// checkLink follows a chain of hard links to a non-directory entry.
func (f *flattener) checkLink(target string) error {
	for range 256 {
		switch f.nodes[target].kind {
		case fileNode:
			return nil
		case linkNode:
			target = f.links[target]
		case dirNode, implicitDir:
			return errors.New("target is a directory")
		default:
			return errors.New("target is not in the image")
		}
	}
	return errors.New("hard link loop")
}

// resolveDeferred reads the layers again, top down from the highest layer
// holding a deferred link, to find the content each link kept.
func (f *flattener) resolveDeferred() error {
	pending := f.deferred
	for k := len(f.layers) - 1; k >= 0 && len(pending) > 0; k-- {
		var active []deferredLink
		for _, d := range pending {
			if d.layer >= k {
				active = append(active, d)
			}
		}
		if len(active) == 0 {
			continue
		}
		rest, err := f.scanDeferred(k, active)
		if err != nil {
			return err
		}
		pending = append(rest, without(pending, active)...)
	}
	if len(pending) > 0 {
		d := pending[0]
		return fmt.Errorf("layer %s: entry %q: hard link to %q: target is not in the image",
			f.layers[d.layer].Name, d.name, d.target)
	}
	return nil
}

func without(all, some []deferredLink) []deferredLink {
	in := map[string]bool{}
	for _, d := range some {
		in[d.name] = true
	}
	var out []deferredLink
	for _, d := range all {
		if !in[d.name] {
			out = append(out, d)
		}
	}
	return out
}

// scanDeferred reads layer k once, writes the links whose target it holds
// and returns those still looking for theirs further down.
func (f *flattener) scanDeferred(k int, active []deferredLink) ([]deferredLink, error) {
	name := f.layers[k].Name
	rc, err := f.layers[k].Open()
	if err != nil {
		return nil, fmt.Errorf("opening layer %s again: %w", name, err)
	}
	defer rc.Close()
	byTarget := map[string][]deferredLink{}
	for _, d := range active {
		byTarget[d.target] = append(byTarget[d.target], d)
	}
	var whiteouts []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer %s again: %w", name, err)
		}
		p, _, err := ValidateEntry(h)
		if err != nil {
			return nil, fmt.Errorf("layer %s: entry %q: %w", name, h.Name, err)
		}
		if w, ok := whiteoutOf(p); ok {
			whiteouts = append(whiteouts, w)
			continue
		}
		links, ok := byTarget[p]
		if !ok {
			continue
		}
		if err := f.writeKept(k, h, tr, links); err != nil {
			return nil, err
		}
		delete(byTarget, p)
	}
	return f.stillPending(k, byTarget, whiteouts)
}

// writeKept writes the first link as a copy of the target entry h and the
// others as hard links to it.
func (f *flattener) writeKept(k int, h *tar.Header, r io.Reader, links []deferredLink) error {
	first := links[0]
	if h.Typeflag != tar.TypeReg {
		return fmt.Errorf("layer %s: entry %q: hard link to %q, replaced above, which is not a regular file: not supported",
			f.layers[first.layer].Name, first.name, first.target)
	}
	if err := f.write(first.name, "", h, r); err != nil {
		return fmt.Errorf("layer %s: entry %q: %w", f.layers[k].Name, h.Name, err)
	}
	for _, d := range links[1:] {
		lh := &tar.Header{Typeflag: tar.TypeLink, Mode: h.Mode, ModTime: h.ModTime}
		if err := f.write(d.name, first.name, lh, nil); err != nil {
			return err
		}
		n := f.nodes[d.name]
		n.kind = linkNode
		f.nodes[d.name] = n
		f.links[d.name] = first.name
	}
	return nil
}

// stillPending drops the links whose target layer k removed (they dangle)
// and returns the others.
func (f *flattener) stillPending(k int, byTarget map[string][]deferredLink, whiteouts []string) ([]deferredLink, error) {
	var rest []deferredLink
	for target, links := range byTarget {
		for _, w := range whiteouts {
			if target == w || strings.HasPrefix(target, w+"/") || w == "" {
				d := links[0]
				return nil, fmt.Errorf("layer %s: entry %q: hard link to %q: target is not in the image",
					f.layers[d.layer].Name, d.name, d.target)
			}
		}
		rest = append(rest, links...)
	}
	return rest, nil
}

// whiteoutOf returns the path a whiteout entry removes ("" for an opaque
// root); an opaque directory removes what is under it, which for a target
// under it is the same.
func whiteoutOf(p string) (string, bool) {
	dir, base := split(p)
	switch {
	case base == whOpaque:
		return dir, true
	case strings.HasPrefix(base, whMeta):
		return "", false
	case strings.HasPrefix(base, whPrefix):
		return join(dir, base[len(whPrefix):]), true
	}
	return "", false
}
