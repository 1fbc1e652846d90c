package cli

import (
	"context"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// ResolvedImage is an image found in a repository, ready to run.
type ResolvedImage struct {
	Repo     string         // repository name
	Name     string         // image name
	Meta     imagemeta.Meta // stored metadata (config, origin, layers)
	Squashfs string         // absolute path of the image's squashfs file
}

// lookupImage finds [REPO:]NAME in the configured repositories, or a
// transport reference (docker-archive:x.tar) in the cache of sources,
// importing it there on first use (srccache.go). It fails with a clear
// message when the image is unknown or has no squashfs.
var lookupImage = func(ctx context.Context, g *Globals, ref string) (*ResolvedImage, error) {
	if src, ok := sourceRef(g.config(), ref); ok {
		return runSource(ctx, g, ref, src)
	}
	img, err := g.findImage(ref)
	if err != nil {
		return nil, err
	}
	sq, err := img.SquashfsPath()
	if err != nil {
		return nil, err
	}
	return &ResolvedImage{Repo: img.Repo.Name, Name: img.Name, Meta: img.Meta, Squashfs: sq}, nil
}
