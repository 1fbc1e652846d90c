package imagesrc

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"io"
	"path"

	"github.com/pcocc/pcocc/internal/rootfs"
)

// Limits on the docker-archive an engine streams: files up to spoolAbove
// bytes (manifests, configurations, small layers) are kept in memory, up to
// maxInMemory in all; larger ones go to the spool as they pass.
const (
	spoolAbove  = 1 << 20
	maxInMemory = 64 << 20
)

// openDaemon opens an image of the Docker engine. The engine's export is a
// docker-archive stream whose manifest.json comes last (docker writes the
// archive in name order: layer directories, then manifest.json), so each
// layer is stored in the spool as it passes, then the image is flattened
// from the stored blobs: no temporary tar file.
func openDaemon(ctx context.Context, name string) (*Image, error) {
	eng, err := NewEngine()
	if err != nil {
		return nil, err
	}
	info, err := eng.inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	img := &Image{Digest: info.ID, Close: nopClose}
	img.Fetch = func(ctx context.Context, sp Spool) error {
		sp.Expect(info.Size, len(info.RootFS.Layers))
		rc, err := eng.save(ctx, info.ID)
		if err != nil {
			return err
		}
		defer rc.Close()
		st, err := readStream(rc, sp)
		if err != nil {
			return fmt.Errorf("reading the engine's export of %q: %w", name, err)
		}
		return st.fill(img, info.ID)
	}
	return img, nil
}

// streamFile is one file of a streamed archive: in memory, or spooled.
type streamFile struct {
	data    []byte
	spooled *Spooled
	link    string // a link's target, cleaned
}

type streamStore map[string]streamFile

func readStream(r io.Reader, sp Spool) (streamStore, error) {
	st := streamStore{}
	var inMemory int64
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return nil, err
		}
		name := cleanMember(h.Name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			st[name] = streamFile{link: cleanMember(path.Join(path.Dir(name), h.Linkname))}
		case tar.TypeLink:
			st[name] = streamFile{link: cleanMember(h.Linkname)}
		case tar.TypeReg:
			f, err := readStreamFile(tr, h, sp, &inMemory)
			if err != nil {
				return nil, fmt.Errorf("reading %q: %w", name, err)
			}
			st[name] = f
		}
	}
}

func readStreamFile(tr io.Reader, h *tar.Header, sp Spool, inMemory *int64) (streamFile, error) {
	if h.Size > spoolAbove {
		s, err := sp.Put(tr, "")
		if err != nil {
			return streamFile{}, err
		}
		return streamFile{spooled: &s}, nil
	}
	if *inMemory += h.Size; *inMemory > maxInMemory {
		return streamFile{}, fmt.Errorf("more than %d bytes of small files", maxInMemory)
	}
	b, err := io.ReadAll(tr)
	return streamFile{data: b}, err
}

// get follows links to a file.
func (st streamStore) get(name string) (streamFile, error) {
	name = cleanMember(name)
	for range 16 {
		f, ok := st[name]
		switch {
		case !ok:
			return f, fmt.Errorf("the archive names missing file %q", name)
		case f.link != "":
			name = f.link
		default:
			return f, nil
		}
	}
	return streamFile{}, fmt.Errorf("%q: too many levels of links", name)
}

func (f streamFile) open() (io.ReadCloser, error) {
	if f.spooled != nil {
		return f.spooled.Open()
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}

// fill sets the image's configuration and layers from manifest.json.
func (st streamStore) fill(img *Image, id string) error {
	mf, err := st.get("manifest.json")
	if err != nil || mf.spooled != nil {
		return errors.New("the engine's export has no manifest.json")
	}
	var ms []dockerManifest
	if err := json.Unmarshal(mf.data, &ms); err != nil {
		return fmt.Errorf("decoding manifest.json: %w", err)
	}
	m, err := pickDocker(ms, Ref{Transport: DockerDaemon})
	if err != nil {
		return err
	}
	cf, err := st.get(m.Config)
	if err != nil || cf.spooled != nil {
		return fmt.Errorf("reading the configuration %q: %v", m.Config, err)
	}
	if string(digest.FromBytes(cf.data)) != id {
		return fmt.Errorf("the configuration does not match the image ID %s", id)
	}
	cfg, diffIDs, err := parseConfig(cf.data)
	if err != nil {
		return err
	}
	if len(diffIDs) != len(m.Layers) {
		return fmt.Errorf("manifest.json names %d layers, the configuration %d", len(m.Layers), len(diffIDs))
	}
	img.Config, img.ConfigBlob, img.ConfigDigest = cfg, cf.data, id
	for i, name := range m.Layers {
		l, err := st.layer(name, diffIDs[i])
		if err != nil {
			return err
		}
		img.Layers = append(img.Layers, l)
	}
	return nil
}

func (st streamStore) layer(name, diffID string) (Layer, error) {
	f, err := st.get(name)
	if err != nil {
		return Layer{}, err
	}
	l := Layer{DiffID: diffID, Open: f.open}
	if f.spooled != nil {
		l.Digest, l.Size = f.spooled.Digest, f.spooled.Size
	} else {
		l.Digest, l.Size = string(digest.FromBytes(f.data)), int64(len(f.data))
	}
	if want := digestInName(name); want != "" && want != l.Digest {
		return Layer{}, fmt.Errorf("layer %q does not match its digest (%s)", name, l.Digest)
	}
	rc, err := f.open()
	if err != nil {
		return Layer{}, err
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(rc, head)
	rc.Close()
	comp := rootfs.Detect(head[:n])
	if l.MediaType = mediatype.DockerLayerFor(comp); l.MediaType == "" {
		return Layer{}, fmt.Errorf("layer %q: %s compression is not supported", name, comp)
	}
	return l, nil
}
