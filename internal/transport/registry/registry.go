// Package registry reads the docker:// transport: an image in a registry
// (Docker Registry HTTP API v2, through internal/regclient). Its manifests
// and configuration are read when it is opened, its layers downloaded by
// Fetch into the import's spool.
package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/manifest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"github.com/pcocc/pcocc/internal/regclient"
)

// Name is the transport's.
const Name = "docker"

// parallelBlobs is how many layers are downloaded at once.
const parallelBlobs = 4

// Open opens docker://[REGISTRY/]REPO[:TAG|@DIGEST] (ref.Ref): manifests
// and the configuration are read now; the layers are downloaded by Fetch,
// in parallel, into the spool (the repository's blob store), checked
// against their digests, then flattened.
func Open(ctx context.Context, r imagesrc.Ref) (imagesrc.Image, error) {
	ref, err := regclient.ParseRef(r.Ref)
	if err != nil {
		return nil, badRef{err}
	}
	rc, err := regclient.New(ref, retryPause)
	if err != nil {
		return nil, err
	}
	c := &registrySource{c: rc, reg: ref.Registry()}
	m, md, err := c.resolve(ctx, ref.Reference(), ref.Digest(), 0)
	if err != nil {
		return nil, err
	}
	p, err := c.image(ctx, m, md)
	if err != nil {
		return nil, err
	}
	return imagesrc.NewStreamed(md, func(ctx context.Context, sp imagesrc.Spool) (imagesrc.Layered, error) {
		fetched := p
		fetched.Layers = slices.Clone(p.Layers)
		if err := c.fetchLayers(ctx, fetched.Layers, sp); err != nil {
			return nil, err
		}
		return imagesrc.NewLayered(fetched), nil
	}), nil
}

// badRef is regclient's error for a malformed name, which matches
// imagesrc.ErrBadRef too.
type badRef struct{ error }

func (b badRef) Unwrap() error      { return b.error }
func (badRef) Is(target error) bool { return target == imagesrc.ErrBadRef }

// retryPause is the pause before the first retry of a blob download (a
// variable for tests).
var retryPause = regclient.DefaultRetry

// registrySource reads an image through a registry client.
type registrySource struct {
	c   *regclient.Client
	reg string // the registry, for messages
}

// resolve fetches the image manifest, descending through an index to the
// entry for this machine.
func (c *registrySource) resolve(ctx context.Context, ref string, want digest.Digest, depth int) (*manifest.Doc, digest.Digest, error) {
	if depth > 2 {
		return nil, "", fmt.Errorf("registry %s: indexes nested too deeply", c.reg)
	}
	b, md, err := c.c.Manifest(ctx, ref, want)
	if err != nil {
		return nil, "", err
	}
	var m manifest.Doc
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, "", fmt.Errorf("registry %s: decoding manifest %s: %w", c.reg, md, err)
	}
	switch m.MediaType {
	case mediatype.OCIIndex, mediatype.DockerManifestList:
		d, err := manifest.PickPlatform(m.Manifests)
		if err != nil {
			return nil, "", fmt.Errorf("registry %s: %s: %w", c.reg, c.c.Ref(), err)
		}
		return c.resolve(ctx, string(d.Digest), d.Digest, depth+1)
	case mediatype.OCIManifest, mediatype.DockerManifest:
		return &m, md, nil
	case "":
		if m.Manifests != nil {
			return nil, "", fmt.Errorf("registry %s: manifest %s: an index without a media type", c.reg, md)
		}
		if m.Config.Digest != "" {
			return &m, md, nil // OCI manifests may omit mediaType
		}
	}
	return nil, "", fmt.Errorf("registry %s: manifest %s: unsupported media type %q", c.reg, md, m.MediaType)
}

// image reads the configuration and checks the layer list.
func (c *registrySource) image(ctx context.Context, m *manifest.Doc, md digest.Digest) (imagesrc.Parts, error) {
	var p imagesrc.Parts
	for _, l := range m.Layers {
		if !mediatype.IsLayer(l.MediaType) {
			return p, fmt.Errorf("registry %s: layer %s: unsupported media type %q", c.reg, l.Digest, l.MediaType)
		}
		if l.Digest.Validate() != nil || l.Size < 0 {
			return p, fmt.Errorf("registry %s: layer with invalid digest %q or size", c.reg, l.Digest)
		}
	}
	cd := m.Config.Digest
	if cd.Validate() != nil || m.Config.Size > imagesrc.MaxJSON {
		return p, fmt.Errorf("registry %s: invalid configuration descriptor %q", c.reg, cd)
	}
	blob, err := c.smallBlob(ctx, cd, m.Config.Size)
	if err != nil {
		return p, err
	}
	cfg, diffIDs, err := imagesrc.DecodeConfig(blob, "manifest "+md.String(), len(m.Layers))
	if err != nil {
		return p, err
	}
	p = imagesrc.Parts{Config: cfg, ConfigBlob: blob, ConfigDigest: cd, Digest: md}
	for i, l := range m.Layers {
		p.Layers = append(p.Layers, imagesrc.Layer{Digest: l.Digest, DiffID: diffIDs[i], MediaType: l.MediaType, Size: l.Size})
	}
	return p, nil
}

// smallBlob downloads a configuration blob and checks its digest.
func (c *registrySource) smallBlob(ctx context.Context, want digest.Digest, size int64) ([]byte, error) {
	r := c.c.Blob(ctx, want, size)
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, size+1))
	if err == nil && int64(len(b)) != size {
		err = fmt.Errorf("%d bytes, the manifest says %d", len(b), size)
	}
	if err != nil {
		return nil, fmt.Errorf("registry %s: reading configuration %s: %w", c.reg, want, err)
	}
	if got := digest.FromBytes(b); got != want {
		return nil, fmt.Errorf("registry %s: configuration %s does not match its digest (got %s)", c.reg, want, got)
	}
	return b, nil
}

// fetchLayers downloads the layers, parallelBlobs at a time, into sp and
// points them at the stored blobs. The first error stops
// the others.
func (c *registrySource) fetchLayers(ctx context.Context, layers []imagesrc.Layer, sp imagesrc.Spool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var total int64
	for _, l := range layers {
		total += l.Size
	}
	sp.Expect(total, len(layers))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, parallelBlobs)
	)
	for i := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := c.fetchLayer(ctx, &layers[i], sp); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}

func (c *registrySource) fetchLayer(ctx context.Context, l *imagesrc.Layer, sp imagesrc.Spool) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	r := c.c.Blob(ctx, l.Digest, l.Size)
	defer r.Close()
	s, err := sp.Put(r, l.Digest)
	if err != nil {
		return fmt.Errorf("downloading layer %s: %w", l.Digest, err)
	}
	if s.Size != l.Size {
		return fmt.Errorf("registry %s: layer %s has %d bytes, the manifest says %d", c.reg, l.Digest, s.Size, l.Size)
	}
	l.Open = s.Open
	return nil
}
