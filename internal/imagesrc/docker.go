package imagesrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"github.com/pcocc/pcocc/internal/rootfs"
)

// DockerManifest is one entry of a docker-archive's manifest.json, as
// docker save and podman save write it.
type DockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// NewDockerManifest returns the manifest.json entry of an image written
// the way docker ≥ 25 and podman do: each blob named by its digest (the
// configuration HEX.json, the layers HEX.tar), tagged tag unless it is ""
// or an @N index. BlobName gives where each blob goes.
func NewDockerManifest(config string, layers []string, tag string) DockerManifest {
	m := DockerManifest{Config: DockerBlobName(config, ".json"), RepoTags: []string{}}
	if tag != "" && !strings.HasPrefix(tag, "@") {
		m.RepoTags = []string{tag}
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, DockerBlobName(l, ".tar"))
	}
	return m
}

// DockerBlobName is the name of a blob in a docker-archive written by
// pcocc: its digest's hex and ext.
func DockerBlobName(d, ext string) string { return digest.Digest(d).Hex() + ext }

func openDockerArchive(ref Ref) (*layered, error) {
	st, err := openTarStore(ref.Path)
	if err != nil {
		return nil, err
	}
	img, err := readDockerArchive(st, ref)
	if err != nil {
		st.close()
		return nil, err
	}
	img.close = st.close
	return img, nil
}

// readDockerArchive reads the image ref.Ref names in a docker-archive, a
// file or an engine's stream.
func readDockerArchive(st *tarStore, ref Ref) (*layered, error) {
	raw, err := readSmall(st, "manifest.json")
	if errors.Is(err, fs.ErrNotExist) {
		if _, ok := st.entries[manifest.LayoutFile]; ok {
			return nil, fmt.Errorf("%q is an OCI archive, not a docker archive: use oci-archive:%s", st.name, st.name)
		}
		return nil, fmt.Errorf("%q is not a docker archive: no manifest.json", st.name)
	}
	if err != nil {
		return nil, err
	}
	var ms []DockerManifest
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, fmt.Errorf("decoding manifest.json: %w", err)
	}
	m, err := pickDocker(ms, ref)
	if err != nil {
		return nil, err
	}
	blob, cd, err := readDockerConfig(st, m.Config)
	if err != nil {
		return nil, err
	}
	img, diffIDs, err := newImage(blob, cd, cd, "manifest.json", len(m.Layers))
	if err != nil {
		return nil, err
	}
	for i, name := range m.Layers {
		l, err := dockerLayer(st, name, diffIDs[i])
		if err != nil {
			return nil, err
		}
		img.layers = append(img.layers, l)
	}
	return img, nil
}

// readDockerConfig reads the configuration blob and checks it against the
// digest its name states.
func readDockerConfig(st *tarStore, name string) ([]byte, string, error) {
	blob, err := readSmall(st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("manifest names missing blob %q", name)
	}
	if err != nil {
		return nil, "", err
	}
	d := string(digest.FromBytes(blob))
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
	switch known, named := st.knownDigest(name), digestInName(name); {
	case known != "" && named != "" && known != named:
		return Layer{}, fmt.Errorf("layer %q does not match its digest (%s)", name, known)
	case known != "":
		l.Digest = known
	case named != "":
		l.Digest = named
	case comp == rootfs.Uncompressed:
		l.Digest = diffID
	default:
		if l.Digest, err = hashBlob(l.Open); err != nil {
			return Layer{}, fmt.Errorf("reading layer %q: %w", name, err)
		}
	}
	return l, nil
}

// digestInName returns the digest a layout file name states (its last
// component is HEX, HEX.tar or HEX.json), or "".
func digestInName(name string) string {
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
	return string(d)
}

// pickDocker selects the image ref.Ref names: a repository tag, or @N.
func pickDocker(ms []DockerManifest, ref Ref) (DockerManifest, error) {
	if len(ms) == 0 {
		return DockerManifest{}, errors.New("the archive holds no image")
	}
	want := ref.Ref
	if n, ok := strings.CutPrefix(want, "@"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(ms) {
			return DockerManifest{}, fmt.Errorf("no image %q in the archive, which holds %d", want, len(ms))
		}
		return ms[i], nil
	}
	if want == "" {
		if len(ms) == 1 {
			return ms[0], nil
		}
		return DockerManifest{}, fmt.Errorf("the archive holds %d images (%s): name one as %s:%s:REF",
			len(ms), allTags(ms), ref.Transport, ref.Path)
	}
	for _, m := range ms {
		for _, t := range m.RepoTags {
			if normalizeName(t) == normalizeName(want) {
				return m, nil
			}
		}
	}
	return DockerManifest{}, fmt.Errorf("no image %q in the archive (it holds %s)", want, allTags(ms))
}

func allTags(ms []DockerManifest) string {
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
