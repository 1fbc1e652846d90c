package imagesrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/manifest"
)

func openOCI(st store, ref Ref, closeFn func() error) (*layered, error) {
	if _, err := readSmall(st, manifest.LayoutFile); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := readSmall(st, "manifest.json"); derr == nil {
				return nil, fmt.Errorf("%q is a docker archive, not an OCI one: use docker-archive:%s", ref.Path, ref.Path)
			}
			return nil, fmt.Errorf("%q is not an OCI layout: no %s", ref.Path, manifest.LayoutFile)
		}
		return nil, err
	}
	raw, err := readSmall(st, manifest.IndexFile)
	if err != nil {
		return nil, err
	}
	var idx manifest.Index
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", manifest.IndexFile, err)
	}
	desc, err := pickTag(idx.Manifests, ref.Ref)
	if err != nil {
		return nil, err
	}
	img, err := readManifest(st, desc, 0)
	if err != nil {
		return nil, err
	}
	img.close = closeFn
	return img, nil
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
func readBlob(st store, d manifest.Descriptor) ([]byte, error) {
	name, err := blobPath(string(d.Digest))
	if err != nil {
		return nil, err
	}
	b, err := readSmall(st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("manifest names missing blob %s", d.Digest)
	}
	if err != nil {
		return nil, err
	}
	if got := string(digest.FromBytes(b)); got != string(d.Digest) {
		return nil, fmt.Errorf("blob %s does not match its digest (%s)", d.Digest, got)
	}
	return b, nil
}

// readManifest reads an image manifest, descending through indexes.
func readManifest(st store, d manifest.Descriptor, depth int) (*layered, error) {
	if depth > 4 {
		return nil, errors.New("indexes nested too deeply")
	}
	b, err := readBlob(st, d)
	if err != nil {
		return nil, err
	}
	var m manifest.Doc
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding manifest %s: %w", d.Digest, err)
	}
	switch m.Kind() {
	case manifest.KindIndex:
		sub, err := pickPlatform(m.Manifests)
		if err != nil {
			return nil, err
		}
		return readManifest(st, sub, depth+1)
	case manifest.KindManifest:
		return imageFromManifest(st, m, string(d.Digest))
	}
	return nil, fmt.Errorf("manifest %s: unsupported media type %q", d.Digest, m.MediaType)
}

// pickPlatform selects the entry of an index made for this machine
// (linux and the architecture pcocc runs on).
func pickPlatform(ds []manifest.Descriptor) (manifest.Descriptor, error) {
	var seen []string
	for _, d := range ds {
		p := d.Platform
		if p == nil {
			if len(ds) == 1 {
				return d, nil
			}
			continue
		}
		if p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return d, nil
		}
		seen = append(seen, p.OS+"/"+p.Architecture)
	}
	return manifest.Descriptor{}, fmt.Errorf("no image for linux/%s in the index (it has %s)",
		runtime.GOARCH, strings.Join(seen, ", "))
}

func imageFromManifest(st store, m manifest.Doc, md string) (*layered, error) {
	blob, err := readBlob(st, m.Config)
	if err != nil {
		return nil, err
	}
	img, diffIDs, err := newImage(blob, string(m.Config.Digest), md, "manifest "+md, len(m.Layers))
	if err != nil {
		return nil, err
	}
	for i, l := range m.Layers {
		name, err := blobPath(string(l.Digest))
		if err != nil {
			return nil, err
		}
		rc, size, err := st.open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("manifest names missing blob %s", l.Digest)
		}
		if err != nil {
			return nil, err
		}
		rc.Close()
		img.layers = append(img.layers, Layer{Digest: string(l.Digest), DiffID: diffIDs[i],
			MediaType: l.MediaType, Size: size, Open: opener(st, name)})
	}
	return img, nil
}

// hashBlob reads a blob through to compute its digest.
func hashBlob(open func() (io.ReadCloser, error)) (string, error) {
	rc, err := open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	d, err := digest.FromReader(rc)
	return string(d), err
}
