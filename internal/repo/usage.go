package repo

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/pcocc/pcocc/internal/digest"
)

// Usage is what one image costs on disk. Blobs are content-addressed and
// shared by the images of a repository that have the same layer: Blobs
// counts every blob the image uses in full, and Shared is the part of
// Blobs that other images of the repository use too (deleting the image
// does not free it).
type Usage struct {
	Squashfs int64 `json:"squashfs"`
	Blobs    int64 `json:"blobs"`
	Shared   int64 `json:"shared"`
}

// Total is the squashfs plus every blob the image uses.
func (u Usage) Total() int64 { return u.Squashfs + u.Blobs }

// DiskUsage measures the images of one repository (all of them, as List
// returns them, so that sharing is seen) and the repository's total, in
// which each blob counts once. Files are measured as they are now (a blob
// that is missing, as with images imported without layers, counts 0);
// leftovers that 'image repo gc' removes are not counted.
func DiskUsage(imgs []*Image) (per []Usage, total int64) {
	users := map[digest.Digest]int{} // blob digest -> images using it
	for _, img := range imgs {
		for _, d := range img.blobDigests() {
			users[d]++
		}
	}
	sizes := map[digest.Digest]int64{}
	for d := range users {
		sizes[d] = blobSize(imgs, d)
		total += sizes[d]
	}
	per = make([]Usage, len(imgs))
	for i, img := range imgs {
		u := Usage{Squashfs: img.squashfsSize()}
		for _, d := range img.blobDigests() {
			u.Blobs += sizes[d]
			if users[d] > 1 {
				u.Shared += sizes[d]
			}
		}
		per[i] = u
		total += u.Squashfs
	}
	return per, total
}

// UsageOf measures one image among all the images of its repository (an
// image not among them, such as an older revision in a repository of the
// original pcocc, is measured as one more).
func UsageOf(img *Image, all []*Image) Usage {
	i := slices.IndexFunc(all, func(o *Image) bool { return o.Dir == img.Dir })
	if i < 0 {
		all, i = append(all[:len(all):len(all)], img), len(all)
	}
	per, _ := DiskUsage(all)
	return per[i]
}

// blobDigests is the config and layer blobs the image keeps, each once.
func (i *Image) blobDigests() []digest.Digest {
	if i.Err != nil || i.Meta.NoLayers {
		return nil
	}
	var out []digest.Digest
	seen := map[digest.Digest]bool{}
	add := func(d digest.Digest) {
		if d != "" && !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	add(i.Meta.ConfigDigest)
	for _, l := range i.Meta.Layers {
		add(l.Digest)
	}
	for _, d := range i.Meta.VMLayers() {
		add(d)
	}
	return out
}

func blobSize(imgs []*Image, d digest.Digest) int64 {
	p, err := imgs[0].Repo.BlobPath(d)
	if err != nil {
		return 0
	}
	return fileSize(p)
}

func (i *Image) squashfsSize() int64 {
	if i.Err != nil || i.Meta.Squashfs == nil {
		return 0
	}
	return fileSize(filepath.Join(i.Dir, i.Meta.Squashfs.File))
}

func fileSize(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	return fi.Size()
}
