// Package dockerarchive reads and writes the docker-archive transport: the
// tar file of `docker save` and `podman save` (a manifest.json listing
// each image's configuration and layer files), and the same archive as a
// Docker engine streams it (see dockerdaemon).
package dockerarchive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"github.com/pcocc/pcocc/internal/rootfs"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

// Name is the transport's.
const Name = "docker-archive"

// Manifest is one entry of a docker-archive's manifest.json, as
// docker save and podman save write it.
type Manifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// newManifest returns the manifest.json entry of an image written
// the way docker ≥ 25 and podman do: each blob named by its digest (the
// configuration HEX.json, the layers HEX.tar), tagged tag unless it is ""
// or an @N index.
func newManifest(config digest.Digest, layers []digest.Digest, tag string) Manifest {
	m := Manifest{Config: blobName(config, ".json"), RepoTags: []string{}}
	if tag != "" && !strings.HasPrefix(tag, "@") {
		m.RepoTags = []string{tag}
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, blobName(l, ".tar"))
	}
	return m
}

// blobName is the name of a blob in a docker-archive written by
// pcocc: its digest's hex and ext.
func blobName(d digest.Digest, ext string) string { return d.Hex() + ext }

// Open opens the image ref names in a docker-archive file.
func Open(_ context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	return layout.OpenArchive(ref.Path, func(st *layout.Tar) (imagesrc.Parts, error) { return Read(st, ref) })
}

// Read reads the parts of the image ref.Ref names in a docker-archive, a
// file or an engine's stream.
func Read(st *layout.Tar, ref imagesrc.Ref) (imagesrc.Parts, error) {
	m, err := pickIn(st, ref)
	if err != nil {
		return imagesrc.Parts{}, err
	}
	blob, cd, err := readDockerConfig(st, m.Config)
	if err != nil {
		return imagesrc.Parts{}, err
	}
	cfg, diffIDs, err := imagesrc.DecodeConfig(blob, "manifest.json", len(m.Layers))
	if err != nil {
		return imagesrc.Parts{}, err
	}
	p := imagesrc.Parts{Config: cfg, ConfigBlob: blob, ConfigDigest: cd}
	for i, name := range m.Layers {
		l, err := dockerLayer(st, name, diffIDs[i])
		if err != nil {
			return imagesrc.Parts{}, err
		}
		p.Layers = append(p.Layers, l)
	}
	return p, nil
}

// pickIn reads the archive's manifest.json and picks the entry ref.Ref
// names.
func pickIn(st *layout.Tar, ref imagesrc.Ref) (Manifest, error) {
	raw, err := layout.ReadSmall(st, "manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		if st.Has(manifest.LayoutFile) {
			return Manifest{}, fmt.Errorf("%q is an OCI archive, not a docker archive: use oci-archive:%s", st.Name(), st.Name())
		}
		return Manifest{}, fmt.Errorf("%q is not a docker archive: no manifest.json", st.Name())
	}
	if err != nil {
		return Manifest{}, err
	}
	var ms []Manifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return Manifest{}, fmt.Errorf("decoding manifest.json: %w", err)
	}
	return pickDocker(ms, ref)
}

// readDockerConfig reads the configuration blob and checks it against the
// digest its name states.
func readDockerConfig(st *layout.Tar, name string) ([]byte, digest.Digest, error) {
	blob, err := layout.ReadSmall(st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("manifest names missing blob %q", name)
	}
	if err != nil {
		return nil, "", err
	}
	d := digest.FromBytes(blob)
	if want := digestInName(name); want != "" && want != d {
		return nil, "", fmt.Errorf("configuration %q does not match its digest (%s)", name, d)
	}
	return blob, d, nil
}

// dockerLayer describes one layer file. A streamed layer's digest was
// computed as it passed. A file's is in its name when the archive was
// written by podman, skopeo or docker ≥ 25; docker < 25 writes
// uncompressed layers, whose digest is their diff ID; only a compressed
// layer with an opaque name has to be read to know its digest.
func dockerLayer(st *layout.Tar, name string, diffID digest.Digest) (imagesrc.Layer, error) {
	rc, size, err := st.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return imagesrc.Layer{}, fmt.Errorf("manifest names missing blob %q", name)
	}
	if err != nil {
		return imagesrc.Layer{}, err
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(rc, head)
	rc.Close()
	comp := rootfs.Detect(head[:n])
	l := imagesrc.Layer{DiffID: diffID, MediaType: mediatype.DockerLayerFor(comp), Size: size, Open: layout.Opener(st, name)}
	if l.MediaType == "" {
		return imagesrc.Layer{}, fmt.Errorf("layer %q: %s compression is not supported", name, comp)
	}
	switch known, named := st.KnownDigest(name), digestInName(name); {
	case known != "" && named != "" && known != named:
		return imagesrc.Layer{}, fmt.Errorf("layer %q does not match its digest (%s)", name, known)
	case known != "":
		l.Digest = known
	case named != "":
		l.Digest = named
	case comp == rootfs.Uncompressed:
		l.Digest = diffID
	default:
		if l.Digest, err = hashBlob(l.Open); err != nil {
			return imagesrc.Layer{}, fmt.Errorf("reading layer %q: %w", name, err)
		}
	}
	return l, nil
}

// digestInName returns the digest a layout file name states (its last
// component is HEX, HEX.tar or HEX.json), or "".
func digestInName(name string) digest.Digest {
	base := path.Base(name)
	if b, ok := strings.CutSuffix(base, ".tar"); ok {
		base = b
	} else {
		base = strings.TrimSuffix(base, ".json")
	}
	d, err := digest.FromHex(base)
	if err != nil {
		return ""
	}
	return d
}

// pickDocker selects the image ref.Ref names: a repository tag, or @N.
func pickDocker(ms []Manifest, ref imagesrc.Ref) (Manifest, error) {
	if len(ms) == 0 {
		return Manifest{}, errors.New("the archive holds no image")
	}
	want := ref.Ref
	if n, ok := strings.CutPrefix(want, "@"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(ms) {
			return Manifest{}, fmt.Errorf("no image %q in the archive, which holds %d", want, len(ms))
		}
		return ms[i], nil
	}
	if want == "" {
		if len(ms) == 1 {
			return ms[0], nil
		}
		return Manifest{}, fmt.Errorf("the archive holds %d images (%s): name one as %s:%s:REF",
			len(ms), allTags(ms), ref.Transport, ref.Path)
	}
	for _, m := range ms {
		for _, t := range m.RepoTags {
			if normalizeName(t) == normalizeName(want) {
				return m, nil
			}
		}
	}
	return Manifest{}, fmt.Errorf("no image %q in the archive (it holds %s)", want, allTags(ms))
}

func allTags(ms []Manifest) string {
	var tags []string
	for i, m := range ms {
		if len(m.RepoTags) == 0 {
			tags = append(tags, "@"+strconv.Itoa(i))
		}
		tags = append(tags, m.RepoTags...)
	}
	return strings.Join(tags, ", ")
}

// normalizeName expands a Docker image name the way docker does:
// busybox → docker.io/library/busybox:latest.
func normalizeName(s string) string {
	name, tag := s, "latest"
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		name, tag = s[:i], s[i+1:]
	}
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || !strings.ContainsAny(first, ".:") && first != "localhost" {
		name = "docker.io/" + name
	}
	if rest, ok := strings.CutPrefix(name, "docker.io/"); ok && !strings.Contains(rest, "/") {
		name = "docker.io/library/" + rest
	}
	return name + ":" + tag
}

// hashBlob reads a blob through to compute its digest.
func hashBlob(open func() (io.ReadCloser, error)) (digest.Digest, error) {
	rc, err := open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	return digest.FromReader(rc)
}
