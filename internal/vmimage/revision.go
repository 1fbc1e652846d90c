package vmimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/filecopy"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

// ErrNotVM is the error of a VM operation on a container image.
var ErrNotVM = errors.New("not a VM image")

// Revision is one revision of a VM image of a repository.
type Revision struct {
	Image *repo.Image // the image, with all its revisions in Image.Meta.VM
	imagemeta.VMRevision
}

// Ref names the revision as users type it: [REPO:]NAME@REV.
func (v *Revision) Ref() string { return v.Image.QualifiedName() + "@" + strconv.Itoa(v.Rev) }

// Path is the revision's top layer: the qcow2 file a VM boots from,
// through an overlay of its own (the layers of a repository are never
// written). Its backing chain is the revision's other layers.
func (v *Revision) Path() (string, error) {
	return v.Image.Repo.BlobPath(v.Layers[len(v.Layers)-1])
}

// Resolve returns revision rev ("" for the newest) of the VM image name of r.
func Resolve(r *repo.Repo, name, rev string) (*Revision, error) {
	img, err := r.GetRevision(name, rev)
	if err != nil {
		return nil, err
	}
	return FromImage(img)
}

// FromImage returns the selected revision (img.Revision) of a VM image
// found by the caller (the CLI's search of every repository). Its chain is
// checked: every layer a qcow2 file of the repository backed by the one
// below, by name, and nothing else (see checkLayer).
func FromImage(img *repo.Image) (*Revision, error) {
	if img.Meta.Type != imagemeta.TypeVM {
		return nil, fmt.Errorf("%s is a container image, %w: use 'pcocc run'", img.QualifiedName(), ErrNotVM)
	}
	n, err := strconv.Atoi(img.Revision)
	var rv *imagemeta.VMRevision
	if err == nil {
		rv = img.Meta.VM.Revision(n)
	}
	if rv == nil || len(rv.Layers) == 0 {
		return nil, fmt.Errorf("%s: no revision %q recorded (an image of another tool's repository?)", img.QualifiedName(), img.Revision)
	}
	v := &Revision{Image: img, VMRevision: *rv}
	if err := v.checkChain(); err != nil {
		return nil, err
	}
	return v, nil
}

// newRevision describes a revision made now.
func newRevision(layers []digest.Digest, size int64, source string) imagemeta.VMRevision {
	return imagemeta.VMRevision{Layers: layers, VirtualSize: size, Date: now(), Owner: owner(), Source: source}
}

func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// owner is the user's name, or uid when it has none.
func owner() string {
	uid := strconv.Itoa(os.Getuid())
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// current reads the image called name of r for a change: nil when there is
// none, an error when it is not a VM image.
func current(r *repo.Repo, name string) (*repo.Image, error) {
	img, err := r.Get(name)
	switch {
	case errors.Is(err, repo.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case img.Meta.Type != imagemeta.TypeVM:
		return nil, fmt.Errorf("%s is a container image, %w: choose another name", img.QualifiedName(), ErrNotVM)
	}
	return img, nil
}

// publish adds rv as the next revision of the image name of the
// transaction's repository (its first, rev 0, when old is nil, or when
// replace drops old's revisions). The caller holds the name lock and has
// staged every layer rv lists that the repository lacks.
func publish(tx *repo.Tx, name string, old *repo.Image, rv imagemeta.VMRevision, replace bool) (*Revision, error) {
	meta := imagemeta.Meta{Format: imagemeta.FormatVersion, Type: imagemeta.TypeVM, VM: &imagemeta.VM{},
		Origin: imagemeta.Origin{Source: rv.Source, Date: rv.Date, Owner: rv.Owner}}
	if old != nil && !replace {
		meta.Origin = old.Meta.Origin
		meta.VM.Revisions = append(meta.VM.Revisions, old.Meta.VM.Revisions...)
		rv.Rev = old.Meta.VM.Latest().Rev + 1
	}
	meta.VM.Revisions = append(meta.VM.Revisions, rv)
	if err := tx.Publish(name, &meta, old != nil); err != nil {
		return nil, err
	}
	return Resolve(tx.Repo(), name, strconv.Itoa(rv.Rev))
}

// stageChain gives the transaction's repository the layers of a chain of
// src (the same repository or another one) and returns their digests there.
// A layer whose backing name is already the parent's bare HEX is linked as
// it is; one of the original pcocc's (../../data/XX/HEX) is copied and
// rebased onto pcocc's name, which gives it another digest.
func stageChain(ctx context.Context, tx *repo.Tx, src *repo.Repo, layers []digest.Digest) ([]digest.Digest, error) {
	var out []digest.Digest
	for _, d := range layers {
		p, err := src.BlobPath(d)
		if err != nil {
			return nil, err
		}
		name, err := readBacking(p)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", p, err)
		}
		want := ""
		if len(out) > 0 {
			want, _ = relBacking(tx.Repo(), out[len(out)-1])
		}
		if name == want {
			err = tx.LinkBlob(d, p)
		} else {
			d, err = restage(ctx, tx, p, want)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// restage copies the layer at p into the transaction, names backing as its
// backing file, and stages it.
func restage(ctx context.Context, tx *repo.Tx, p, backing string) (digest.Digest, error) {
	if backing == "" {
		return "", fmt.Errorf("layer %s: the base of a chain has a backing file", p)
	}
	tmp := filepath.Join(tx.Dir(), "restage.qcow2")
	if err := filecopy.New(p, tmp); err != nil {
		return "", fmt.Errorf("copying layer %s: %w", p, err)
	}
	if err := rebase(ctx, tmp, backing); err != nil {
		return "", err
	}
	return stageFile(tx, tmp)
}

// stageFile stores a finished qcow2 layer (a file in the transaction's
// directory) as a blob and returns its digest.
func stageFile(tx *repo.Tx, p string) (digest.Digest, error) {
	d, err := fileDigest(p)
	if err != nil {
		return "", err
	}
	if err := tx.LinkBlob(d, p); err != nil {
		return "", err
	}
	return d, os.Remove(p)
}

// relBacking is how a layer names its parent: the parent's file name,
// which is a path relative to the layer (both are in blobs/sha256/).
func relBacking(r *repo.Repo, d digest.Digest) (string, error) {
	p, err := r.BlobPath(d)
	return filepath.Base(p), err
}
