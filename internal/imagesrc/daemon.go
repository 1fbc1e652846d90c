package imagesrc

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/engine"
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
func openDaemon(ctx context.Context, name string) (Image, error) {
	eng, err := engine.New()
	if err != nil {
		return nil, err
	}
	info, err := eng.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, sp Spool) (Layered, error) {
		sp.Expect(info.Size, len(info.RootFS.Layers))
		rc, err := eng.Save(ctx, info.ID)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		st, err := readStream(rc, sp)
		if err != nil {
			return nil, fmt.Errorf("reading the engine's export of %q: %w", name, err)
		}
		img, err := readDockerArchive(st, Ref{Transport: DockerDaemon})
		if err != nil {
			return nil, fmt.Errorf("reading the engine's export of %q: %w", name, err)
		}
		if img.configDigest != info.ID {
			return nil, fmt.Errorf("the engine's export of %q: the configuration does not match the image ID %s", name, info.ID)
		}
		return img, nil
	}
	return &streamed{digest: info.ID, fetch: fetch}, nil
}

// readStream keeps the members of a streamed docker-archive: files up to
// spoolAbove bytes in memory, larger ones in the spool.
func readStream(r io.Reader, sp Spool) (*tarStore, error) {
	st := &tarStore{name: "the engine's export", entries: map[string]tarEntry{}}
	var inMemory int64
	err := st.scan(tar.NewReader(r), func(member io.Reader, h *tar.Header, e *tarEntry) error {
		if h.Size > spoolAbove {
			s, err := sp.Put(member, "")
			if err != nil {
				return fmt.Errorf("%q: %w", h.Name, err)
			}
			e.spooled = &s
			return nil
		}
		if inMemory += h.Size; inMemory > maxInMemory {
			return fmt.Errorf("more than %d bytes of small files", maxInMemory)
		}
		var err error
		e.data, err = io.ReadAll(member)
		return err
	})
	return st, err
}
