package repo

import (
	"fmt"
	"path/filepath"
)

// Copy copies an image, possibly from another repository, as name. Blobs and
// the squashfs are hard-linked when both repositories share a file system.
// With dropLayers (a repository that keeps no layers) only the squashfs is
// copied.
func (r *Repo) Copy(src *Image, name string, force, dropLayers bool) error {
	if _, err := src.SquashfsPath(); err != nil {
		return err
	}
	t, err := r.Begin()
	if err != nil {
		return err
	}
	defer t.Abort()
	if !force {
		if _, err := r.Get(name); err == nil {
			return t.existsError(name)
		}
	}
	meta := src.Meta
	if dropLayers && len(src.blobDigests()) > 0 {
		meta.NoLayers = true
	}
	for _, d := range (&Image{Meta: meta}).blobDigests() {
		p, err := src.Repo.BlobPath(d)
		if err != nil {
			return err
		}
		if err := t.LinkBlob(d, p); err != nil {
			return err
		}
	}
	sq := *meta.Squashfs
	meta.Squashfs = &sq
	if err := linkOrCopy(filepath.Join(src.Dir, sq.File), filepath.Join(t.dir, "image", sq.File)); err != nil {
		return fmt.Errorf("copying squashfs of %q: %w", src.QualifiedName(), err)
	}
	return t.Publish(name, &meta, force)
}
