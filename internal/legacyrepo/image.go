package legacyrepo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/transport/ocilayout"
)

// squashfsKey is the custom_meta key under which pcocc records the
// squashfs it built for a container image.
const squashfsKey = "pcocc_squashfs"

// builtSquashfs is custom_meta.pcocc_squashfs.
type builtSquashfs struct {
	Digest      digest.Digest `json:"digest"`      // its blob, also listed in data_blobs
	Size        int64         `json:"size"`        // bytes
	Compression string        `json:"compression"` // squashfs compressor
	Manifest    digest.Digest `json:"manifest"`    // digest of the OCI manifest it was built from
}

func (s *store) Get(r *repo.Repo, name, rev string) (*repo.Image, error) {
	n := -1
	if rev != "" {
		var err error
		if n, err = strconv.Atoi(rev); err != nil {
			return nil, fmt.Errorf("bad revision %q", rev)
		}
	}
	p, rec, err := s.find(name, n)
	if errors.Is(err, errNoImage) {
		shown := name
		if rev != "" {
			shown += "@" + rev
		}
		return nil, fmt.Errorf("%w: %q in repository %q", repo.ErrNotFound, shown, r.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading image %q: %w", name, err)
	}
	img, err := s.image(r, p, rec)
	if err != nil {
		return img, fmt.Errorf("reading image %q: %w", name, err)
	}
	return img, nil
}

func (s *store) List(r *repo.Repo) ([]*repo.Image, error) {
	all, err := s.revisions()
	if err != nil {
		return nil, fmt.Errorf("listing repository %q: %w", r.Name, err)
	}
	var out []*repo.Image
	for name, revs := range all {
		rev := newest(revs)
		img, err := s.Get(r, name, strconv.Itoa(rev))
		if img == nil { // the record itself is unreadable: list the name with the error
			img = &repo.Image{Repo: r, Name: name, Revision: strconv.Itoa(rev)}
		}
		img.Err = err
		out = append(out, img)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// image describes a record as pcocc's Image. Errors (a missing blob, a bad
// OCI index) name the file at fault; the image is returned with them.
func (s *store) image(r *repo.Repo, p string, rec *Record) (*repo.Image, error) {
	sec, frac := math.Modf(rec.Timestamp)
	img := &repo.Image{Repo: r, Name: rec.Name, Revision: strconv.Itoa(rec.Revision), Dir: filepath.Dir(p),
		Meta: imagemeta.Meta{Format: imagemeta.FormatVersion, Origin: imagemeta.Origin{
			Source: "the original pcocc (" + p + ")",
			Date:   time.Unix(int64(sec), int64(frac*1e9)).UTC(),
			Owner:  rec.Owner,
		}}}
	if rec.Kind == KindVM {
		img.Meta.Type = imagemeta.TypeVM
		img.Meta.VM = vmRevision(rec, img.Meta.Origin)
		return img, s.checkBlobs(p, rec.DataBlobs)
	}
	img.Meta.Type = imagemeta.TypeContainer
	index, ok := rec.CustomMeta["oci_index"]
	if !ok {
		return img, fmt.Errorf("%s: a container image without custom_meta.oci_index", p)
	}
	src, err := ocilayout.OpenIndex(index, s.blobOpener(), "")
	if err != nil {
		return img, fmt.Errorf("%s: %w", p, err)
	}
	m := &img.Meta
	m.Config, m.ConfigDigest, m.Origin.Digest = src.Config(), src.ConfigDigest(), src.Digest()
	for _, l := range src.Layers() {
		m.Layers = append(m.Layers, imagemeta.Layer{Digest: l.Digest, DiffID: l.DiffID, MediaType: l.MediaType, Size: l.Size})
	}
	s.attachSquashfs(img, rec)
	return img, nil
}

// attachSquashfs sets the image's squashfs when a rebuild recorded one for
// this very manifest and its blob is still listed (and so kept).
func (s *store) attachSquashfs(img *repo.Image, rec *Record) {
	raw, ok := rec.CustomMeta[squashfsKey]
	var b builtSquashfs
	if !ok || json.Unmarshal(raw, &b) != nil || b.Manifest != img.Meta.Origin.Digest || !listed(rec.DataBlobs, string(b.Digest)) {
		return
	}
	p, err := s.BlobPath(b.Digest)
	if err != nil {
		return
	}
	img.Dir = filepath.Dir(p)
	img.Meta.Squashfs = &imagemeta.Squashfs{File: filepath.Base(p), Size: b.Size, Compression: b.Compression}
}

func listed(blobs []string, digest string) bool {
	for _, b := range blobs {
		if b == digest {
			return true
		}
	}
	return false
}

// blobOpener opens blobs; a missing one is named by its file (and is not
// fs.ErrNotExist, so that ocilayout keeps the message).
func (s *store) blobOpener() ocilayout.BlobOpener {
	return func(d digest.Digest) (io.ReadCloser, int64, error) {
		bp, err := s.BlobPath(d)
		if err != nil {
			return nil, 0, err
		}
		f, err := os.Open(bp)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("missing blob %s", bp)
		}
		if err != nil {
			return nil, 0, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		return f, fi.Size(), nil
	}
}

// checkBlobs reports the first blob of a record that is missing.
func (s *store) checkBlobs(p string, blobs []string) error {
	for _, d := range blobs {
		bp, err := s.blobPath(d)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if _, err := os.Stat(bp); err != nil {
			return fmt.Errorf("%s: missing blob %s", p, bp)
		}
	}
	return nil
}

// vmRevision describes a VM record as the one revision pcocc's VM code
// (internal/vmimage) reads: its data blobs are its qcow2 chain, base first.
// The disk size is not recorded by the original pcocc (0: unknown).
func vmRevision(rec *Record, o imagemeta.Origin) *imagemeta.VM {
	rv := imagemeta.VMRevision{Rev: rec.Revision, Date: o.Date, Owner: o.Owner, Source: "the original pcocc"}
	for _, d := range rec.DataBlobs {
		dg, err := digest.FromHex(strings.TrimPrefix(d, "sha256:"))
		if err != nil {
			dg = digest.Digest(d) // its blob path says what is wrong
		}
		rv.Layers = append(rv.Layers, dg)
	}
	return &imagemeta.VM{Revisions: []imagemeta.VMRevision{rv}}
}
