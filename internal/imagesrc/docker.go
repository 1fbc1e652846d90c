package imagesrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/rootfs"
)

// dockerManifest is one entry of a docker-archive's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func openDockerArchive(ref Ref) (*Image, error) {
	st, err := openTarStore(ref.Path)
	if err != nil {
		return nil, err
	}
	img, err := readDockerArchive(st, ref)
	if err != nil {
		st.close()
		return nil, err
	}
	img.Close = st.close
	return img, nil
}

func readDockerArchive(st *tarStore, ref Ref) (*Image, error) {
	raw, err := readSmall(st, "manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		if _, ok := st.entries["oci-layout"]; ok {
			return nil, fmt.Errorf("%q is an OCI archive, not a docker archive: use oci-archive:%s", ref.Path, ref.Path)
		}
		return nil, fmt.Errorf("%q is not a docker archive: no manifest.json", ref.Path)
	}
	if err != nil {
		return nil, err
	}
	var ms []dockerManifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("decoding manifest.json: %w", err)
	}
	m, err := pickDocker(ms, ref)
	if err != nil {
		return nil, err
	}
	img, diffIDs, err := readDockerConfig(st, m.Config)
	if err != nil {
		return nil, err
	}
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("manifest.json names %d layers, the configuration %d", len(m.Layers), len(diffIDs))
	}
	for i, name := range m.Layers {
		l, err := dockerLayer(st, name, diffIDs[i])
		if err != nil {
			return nil, err
		}
		img.Layers = append(img.Layers, l)
	}
	return img, nil
}

func readDockerConfig(st *tarStore, name string) (*Image, []string, error) {
	blob, err := readSmall(st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("manifest names missing blob %q", name)
	}
	if err != nil {
		return nil, nil, err
	}
	d := string(digest.FromBytes(blob))
	if want := digestInName(name); want != "" && want != d {
		return nil, nil, fmt.Errorf("configuration %q does not match its digest (%s)", name, d)
	}
	cfg, diffIDs, err := parseConfig(blob)
	if err != nil {
		return nil, nil, err
	}
	return &Image{Config: cfg, ConfigBlob: blob, ConfigDigest: d, Digest: d}, diffIDs, nil
}

// dockerLayer describes one layer file. Its digest is in its name when the
// archive was written by podman, skopeo or docker ≥ 25; docker < 25 writes
// uncompressed layers, whose digest is their diff ID; only a compressed
// layer with an opaque name has to be read to know its digest.
func dockerLayer(st *tarStore, name, diffID string) (Layer, error) {
	rc, size, err := st.open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return Layer{}, fmt.Errorf("manifest names missing blob %q", name)
	}
	if err != nil {
		return Layer{}, err
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(rc, head)
	rc.Close()
	comp := rootfs.Detect(head[:n])
	l := Layer{DiffID: diffID, MediaType: mediatype.DockerLayerFor(comp), Size: size, Open: opener(st, name)}
	if l.MediaType == "" {
		return Layer{}, fmt.Errorf("layer %q: %s compression is not supported", name, comp)
	}
	switch d := digestInName(name); {
	case d != "":
		l.Digest = d
	case comp == rootfs.Uncompressed:
		l.Digest = diffID
	default:
		if l.Digest, err = hashBlob(l.Open); err != nil {
			return Layer{}, fmt.Errorf("reading layer %q: %w", name, err)
		}
	}
	return l, nil
}

var nameDigest = lazyRegexp(`(?:^|/)(?:sha256/)?([0-9a-f]{64})(?:\.tar|\.json)?$`)

// digestInName returns the digest a layout file name states, or "".
func digestInName(name string) string {
	m := nameDigest().FindStringSubmatch(name)
	if m == nil {
		return ""
	}
	return string(digest.Digest("sha256:" + m[1]))
}

// pickDocker selects the image ref.Ref names: a repository tag, or @N.
func pickDocker(ms []dockerManifest, ref Ref) (dockerManifest, error) {
	if len(ms) == 0 {
		return dockerManifest{}, errors.New("the archive holds no image")
	}
	want := ref.Ref
	if n, ok := strings.CutPrefix(want, "@"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(ms) {
			return dockerManifest{}, fmt.Errorf("no image %q in the archive, which holds %d", want, len(ms))
		}
		return ms[i], nil
	}
	if want == "" {
		if len(ms) == 1 {
			return ms[0], nil
		}
		return dockerManifest{}, fmt.Errorf("the archive holds %d images (%s): name one as %s:%s:REF",
			len(ms), allTags(ms), ref.Transport, ref.Path)
	}
	for _, m := range ms {
		for _, t := range m.RepoTags {
			if normalizeName(t) == normalizeName(want) {
				return m, nil
			}
		}
	}
	return dockerManifest{}, fmt.Errorf("no image %q in the archive (it holds %s)", want, allTags(ms))
}

func allTags(ms []dockerManifest) string {
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
