package vmimage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/filecopy"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

// Import converts file (in format, "" to tell it from the extension or by
// qemu-img's probe) into a qcow2 layer and publishes it as revision 0 of a
// new VM image name of r. An existing name is an error matching
// repo.ErrExists unless force, which replaces it (all its revisions). An
// import that fails or is cancelled leaves only a work directory that the
// repository's next clean removes.
func Import(ctx context.Context, r *repo.Repo, name, file, format string, force bool) (*Revision, error) {
	format, err := sourceFormat(ctx, file, format)
	if err != nil {
		return nil, err
	}
	unlock, err := r.LockName(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := r.Get(name)
	switch {
	case err == nil && !force:
		return nil, fmt.Errorf("%w: %q in repository %q (use -f to replace it)", repo.ErrExists, name, r.Name)
	case err != nil && !errors.Is(err, repo.ErrNotFound) && !force:
		return nil, err
	case err != nil:
		old = nil
	}
	tx, err := r.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Abort()
	layer := filepath.Join(tx.Dir(), "layer.qcow2")
	if err := convert(ctx, file, format, layer, "qcow2"); err != nil {
		return nil, err
	}
	i, err := probe(ctx, layer, "qcow2")
	if err != nil {
		return nil, err
	}
	d, err := stageFile(tx, layer)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(file); err == nil {
		file = abs // the record names the file from anywhere
	}
	return publish(tx, name, old, newRevision([]digest.Digest{d}, i.VirtualSize, "import "+file), true)
}

// sourceFormat is the format of a file to import, checked readable first
// so that its error names the file rather than qemu-img's view of it.
func sourceFormat(ctx context.Context, file, format string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", file, errors.Unwrap(err))
	}
	fi, err := f.Stat()
	f.Close()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", file)
	}
	if err != nil {
		return "", err
	}
	if format, err = FormatOf(format, file); err != nil || format != "" {
		return format, err
	}
	i, err := probe(ctx, file, "")
	if err != nil {
		return "", err
	}
	if !slices.Contains(Formats, i.Format) {
		return "", fmt.Errorf("%s: qemu-img reads it as %q, %w (give one with --fmt)", file, i.Format, ErrUnsupported)
	}
	return i.Format, nil
}

// AddRevision publishes the qcow2 file layer as a new revision of the VM
// image name of r (revision 0 of a new image when there is none): what
// 'pcocc save' does. A layer with a backing file holds the changes made on
// top of base, a revision of this image or of any other (save -d), and is
// rebased onto base's top layer by a relative name; a layer without one is
// standalone (save --full) and base is ignored. AddRevision takes the file:
// it is moved into the repository, or copied and removed.
func AddRevision(ctx context.Context, r *repo.Repo, name string, base *Revision, layer string) (*Revision, error) {
	i, err := probe(ctx, layer, "qcow2")
	if err != nil {
		return nil, err
	}
	if i.BackingFilename != "" && base == nil {
		return nil, fmt.Errorf("%s has a backing file (%s) but no base revision was given", layer, i.BackingFilename)
	}
	unlock, err := r.LockName(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := current(r, name)
	if err != nil {
		return nil, err
	}
	tx, err := r.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Abort()
	p := filepath.Join(tx.Dir(), "layer.qcow2")
	if err := moveFile(layer, p); err != nil {
		return nil, fmt.Errorf("storing %s: %w", layer, err)
	}
	var layers []digest.Digest
	if i.BackingFilename != "" {
		if layers, err = stageChain(ctx, tx, base.Image.Repo, base.Layers); err != nil {
			return nil, err
		}
		if err := rebaseOnto(ctx, r, p, layers[len(layers)-1]); err != nil {
			return nil, err
		}
	}
	d, err := stageFile(tx, p)
	if err != nil {
		return nil, err
	}
	return publish(tx, name, old, newRevision(append(layers, d), i.VirtualSize, "save"), false)
}

func rebaseOnto(ctx context.Context, r *repo.Repo, p string, parent digest.Digest) error {
	rel, err := relBacking(r, parent)
	if err != nil {
		return err
	}
	return rebase(ctx, p, rel)
}

// Resize publishes a new revision of base's image: an empty layer over
// base with a larger virtual size (the guest grows its file system).
func Resize(ctx context.Context, base *Revision, size int64) (*Revision, error) {
	if size <= base.VirtualSize {
		return nil, fmt.Errorf("%w: %s is %d bytes; the new size (%d) must be larger (shrinking would cut the guest's data)",
			ErrBadSize, base.Ref(), base.VirtualSize, size)
	}
	r := base.Image.Repo
	unlock, err := r.LockName(base.Image.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := current(r, base.Image.Name)
	if err != nil {
		return nil, err
	}
	if old == nil || old.Meta.VM.Revision(base.Rev) == nil { // read before the lock was taken
		return nil, fmt.Errorf("%w: %s (deleted meanwhile)", repo.ErrNotFound, base.Ref())
	}
	tx, err := r.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Abort()
	rel, err := relBacking(r, base.Layers[len(base.Layers)-1])
	if err != nil {
		return nil, err
	}
	p := filepath.Join(tx.Dir(), "layer.qcow2")
	if err := overlay(ctx, p, rel, size); err != nil {
		return nil, err
	}
	d, err := stageFile(tx, p)
	if err != nil {
		return nil, err
	}
	layers := append(slices.Clone(base.Layers), d)
	return publish(tx, base.Image.Name, old, newRevision(layers, size, "resize of @"+strconv.Itoa(base.Rev)), false)
}

// Copy publishes src as revision 0 of the image name of dst (the same or
// another repository), sharing its layers: hard links on one file system.
// The layers of an image of the original pcocc's repositories are copied
// and renamed into pcocc's layout instead.
func Copy(ctx context.Context, src *Revision, dst *repo.Repo, name string, force bool) (*Revision, error) {
	unlock, err := dst.LockName(name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := dst.Get(name)
	if err == nil && !force {
		return nil, fmt.Errorf("%w: %q in repository %q (use -f to replace it)", repo.ErrExists, name, dst.Name)
	}
	if err != nil {
		old = nil
	}
	tx, err := dst.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Abort()
	layers, err := stageChain(ctx, tx, src.Image.Repo, src.Layers)
	if err != nil {
		return nil, err
	}
	rv := newRevision(layers, src.VirtualSize, "copy of "+src.Ref())
	return publish(tx, name, old, rv, true)
}

// Delete removes revision rev of the VM image name of r, or the whole image
// when rev is "" or is its only revision. Layers other revisions list stay.
func Delete(r *repo.Repo, name, rev string) error {
	unlock, err := r.LockName(name)
	if err != nil {
		return err
	}
	defer unlock()
	img, err := r.GetRevision(name, rev)
	if err != nil {
		return err
	}
	if rev == "" || img.Meta.VM == nil || len(img.Meta.VM.Revisions) == 1 {
		return r.Delete(name)
	}
	n, _ := strconv.Atoi(rev)
	meta := img.Meta
	vm := imagemeta.VM{}
	for _, x := range meta.VM.Revisions {
		if x.Rev != n {
			vm.Revisions = append(vm.Revisions, x)
		}
	}
	meta.VM = &vm
	tx, err := r.Begin()
	if err != nil {
		return err
	}
	defer tx.Abort()
	return tx.Publish(name, &meta, true)
}

// Export writes the revision, flattened, as dest in format ("" for the
// extension's, else qcow2). dest appears whole or not at all: it is
// written under a temporary name next to it, then renamed.
func Export(ctx context.Context, src *Revision, dest, format string) error {
	format, err := FormatOf(format, dest)
	if err != nil {
		return err
	}
	if format == "" {
		format = "qcow2"
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%s already exists: remove it or choose another name", dest)
	}
	top, err := src.Path()
	if err != nil {
		return err
	}
	tmp, err := createTemp(dest)
	if err != nil {
		return fmt.Errorf("exporting to %s: %w", dest, err)
	}
	if err := convert(ctx, top, "qcow2", tmp, format); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// createTemp creates an empty file next to dest, with a name nobody else
// can have chosen (a directory may be shared), with the mode a new file gets
// under the umask: qemu-img then writes into it.
func createTemp(dest string) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	p := filepath.Join(filepath.Dir(dest), fmt.Sprintf(".%s.%x.pcocc-export", filepath.Base(dest), b))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", err
	}
	return p, f.Close()
}

// moveFile renames src to dst, or copies it across file systems.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if err := filecopy.New(src, dst); err != nil {
		return err
	}
	return os.Remove(src)
}
