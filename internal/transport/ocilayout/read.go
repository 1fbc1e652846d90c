// Package ocilayout reads and writes OCI image layouts: the oci transport
// (a layout directory) and oci-archive (the same layout in a tar file), and
// an OCI index kept apart from its blobs (OpenIndex).
package ocilayout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

func openOCI(st layout.Store, ref imagesrc.Ref) (imagesrc.Parts, error) {
	var p imagesrc.Parts
	if _, err := layout.ReadSmall(st, manifest.LayoutFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := layout.ReadSmall(st, "manifest.json"); derr == nil {
				return p, fmt.Errorf("%q is a docker archive, not an OCI one: use docker-archive:%s", ref.Path, ref.Path)
			}
			return p, fmt.Errorf("%q is not an OCI layout: no %s", ref.Path, manifest.LayoutFile)
		}
		return p, err
	}
	raw, err := layout.ReadSmall(st, manifest.IndexFile)
	if err != nil {
		return p, err
	}
	var idx manifest.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return p, fmt.Errorf("decoding %s: %w", manifest.IndexFile, err)
	}
	desc, err := pickTag(idx.Manifests, ref.Ref)
	if err != nil {
		return p, err
	}
	return readManifest(st, desc, 0)
}

// pickTag selects the index entry tagged tag, or the only one.
func pickTag(ds []manifest.Descriptor, tag string) (manifest.Descriptor, error) {
	var tags []string
	for _, d := range ds {
		t := d.Annotations[manifest.AnnotationRefName]
		if tag != "" && t == tag {
			return d, nil
		}
		if t != "" {
			tags = append(tags, t)
		}
	}
	switch {
	case len(ds) == 0:
		return manifest.Descriptor{}, errors.New("the layout holds no image")
	case tag != "":
		return manifest.Descriptor{}, fmt.Errorf("unknown tag %q (tags: %s)", tag, strings.Join(tags, ", "))
	case len(ds) > 1:
		return manifest.Descriptor{}, fmt.Errorf("the layout holds %d images (tags: %s): name one with :TAG",
			len(ds), strings.Join(tags, ", "))
	}
	return ds[0], nil
}

// readBlob reads a small blob and checks its digest.
func readBlob(st layout.Store, d manifest.Descriptor) ([]byte, error) {
	name, err := blobPath(d.Digest)
	if err != nil {
		return nil, err
	}
	b, err := layout.ReadSmall(st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("manifest names missing blob %s", d.Digest)
	}
	if err != nil {
		return nil, err
	}
	if got := digest.FromBytes(b); got != d.Digest {
		return nil, fmt.Errorf("blob %s does not match its digest (%s)", d.Digest, got)
	}
	return b, nil
}

// readManifest reads an image manifest, descending through indexes.
func readManifest(st layout.Store, d manifest.Descriptor, depth int) (imagesrc.Parts, error) {
	var p imagesrc.Parts
	if depth > 4 {
		return p, errors.New("indexes nested too deeply")
	}
	b, err := readBlob(st, d)
	if err != nil {
		return p, err
	}
	var m manifest.Doc
	if err := json.Unmarshal(b, &m); err != nil {
		return p, fmt.Errorf("decoding manifest %s: %w", d.Digest, err)
	}
	switch m.Kind() {
	case manifest.KindIndex:
		sub, err := manifest.PickPlatform(m.Manifests)
		if err != nil {
			return p, err
		}
		return readManifest(st, sub, depth+1)
	case manifest.KindManifest:
		return imageFromManifest(st, m, d.Digest)
	}
	return p, fmt.Errorf("manifest %s: unsupported media type %q", d.Digest, m.MediaType)
}

func imageFromManifest(st layout.Store, m manifest.Doc, md digest.Digest) (imagesrc.Parts, error) {
	blob, err := readBlob(st, m.Config)
	if err != nil {
		return imagesrc.Parts{}, err
	}
	cfg, diffIDs, err := imagesrc.DecodeConfig(blob, "manifest "+md.String(), len(m.Layers))
	if err != nil {
		return imagesrc.Parts{}, err
	}
	p := imagesrc.Parts{Config: cfg, ConfigBlob: blob, ConfigDigest: m.Config.Digest, Digest: md}
	for i, l := range m.Layers {
		name, err := blobPath(l.Digest)
		if err != nil {
			return imagesrc.Parts{}, err
		}
		rc, size, err := st.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return imagesrc.Parts{}, fmt.Errorf("manifest names missing blob %s", l.Digest)
		}
		if err != nil {
			return imagesrc.Parts{}, err
		}
		rc.Close()
		p.Layers = append(p.Layers, imagesrc.Layer{Digest: l.Digest, DiffID: diffIDs[i],
			MediaType: l.MediaType, Size: size, Open: layout.Opener(st, name)})
	}
	return p, nil
}

// blobPath is where an OCI layout keeps a blob.
func blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return blobName(d, ""), nil
}
