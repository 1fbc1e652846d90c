package repo

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Tx is one change to a repository (an import, a rebuild, a copy) being
// prepared in tmp/ID. Nothing of it is visible until Publish.
type Tx struct {
	r        *Repo
	id       string
	dir      string
	repoLock *fileLock
	staged   map[digest.Digest]string // blob digest -> staged file
	done     bool
	rebuild  *Image // the image a rebuild replaces the squashfs of (foreign repositories)
}

// Begin starts a transaction. It holds the repository's shared lock until
// Publish or Abort, which keeps Clean away from its files.
func (r *Repo) Begin() (*Tx, error) {
	if r.ReadOnly {
		return nil, r.readOnlyError()
	}
	if r.foreign != nil {
		return nil, r.errForeignWrite("import into another repository")
	}
	l, err := openLock(r.join(lockFile))
	if err != nil {
		return nil, fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	if err := l.shared(); err != nil {
		l.close()
		return nil, fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	t := &Tx{r: r, id: newID(), repoLock: l, staged: map[digest.Digest]string{}}
	t.dir = r.join("tmp", t.id)
	for _, d := range []string{"image", "blobs"} {
		if err := os.MkdirAll(filepath.Join(t.dir, d), 0o755); err != nil {
			t.Abort()
			return nil, fmt.Errorf("preparing import in repository %q: %w", r.Name, err)
		}
	}
	return t, nil
}

func (r *Repo) readOnlyError() error {
	return fmt.Errorf("%w %q (%s): you cannot import into it; use your own repository, for example 'user:NAME'", ErrReadOnly, r.Name, r.Path)
}

func newID() string {
	// getrandom(2), crypto/rand's source, without crypto/rand: it links the
	// FIPS 140 module, initialised at every start of the launcher, which
	// links this package. 12 bytes: never a short read; EINTR only while
	// the kernel's pool is not yet initialised, early at boot.
	b := make([]byte, 12)
	for {
		_, err := unix.Getrandom(b, 0)
		if err == nil {
			return hex.EncodeToString(b)
		}
		if err != unix.EINTR {
			panic(err) // the kernel has had getrandom since 3.17
		}
	}
}

// Repo returns the repository being changed.
func (t *Tx) Repo() *Repo { return t.r }

// Dir is the transaction's private directory (for temporary files).
func (t *Tx) Dir() string { return t.dir }

// SquashfsPath is where the image's squashfs must be built.
func (t *Tx) SquashfsPath() string { return filepath.Join(t.dir, "image", "rootfs.sqfs") }

// HasBlob reports whether the repository or this transaction has the blob.
func (t *Tx) HasBlob(d digest.Digest) bool {
	if _, ok := t.staged[d]; ok {
		return true
	}
	p, err := t.r.BlobPath(d)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// StagedBlob is a blob being written into a transaction. Close keeps it
// (staged until Publish), Abort drops it.
type StagedBlob struct {
	*os.File
	t      *Tx
	digest digest.Digest
}

// Close keeps the blob. Its writeback to disk starts now, so that the
// fsync of Publish finds it done instead of waiting for all of it.
func (b *StagedBlob) Close() error {
	startWriteback(b.File)
	return b.File.Close()
}

// Abort drops the blob (its digest did not match, or the copy failed).
func (b *StagedBlob) Abort() error {
	b.File.Close()
	delete(b.t.staged, b.digest)
	return os.Remove(b.File.Name())
}

// BlobWriter returns a file to write the blob with this digest into, or nil
// when the repository already has it. The caller checks the digest of what it
// writes and calls Abort on a mismatch.
func (t *Tx) BlobWriter(d digest.Digest) (*StagedBlob, error) {
	hexd, err := digestHex(d)
	if err != nil {
		return nil, err
	}
	if t.HasBlob(d) {
		return nil, nil
	}
	p := filepath.Join(t.dir, "blobs", hexd)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storing blob %s: %w", d, err)
	}
	t.staged[d] = p
	return &StagedBlob{File: f, t: t, digest: d}, nil
}

// LinkBlob stages a blob from a file of another repository: a hard link when
// both are on one file system (blobs are immutable), else a copy.
func (t *Tx) LinkBlob(d digest.Digest, src string) error {
	if t.HasBlob(d) {
		return nil
	}
	hexd, err := digestHex(d)
	if err != nil {
		return err
	}
	p := filepath.Join(t.dir, "blobs", hexd)
	if err := linkOrCopy(src, p); err != nil {
		return fmt.Errorf("copying blob %s: %w", d, err)
	}
	t.staged[d] = p
	return nil
}

// Publish makes the prepared image visible as name. Without force an
// existing name is an error and nothing changes.
func (t *Tx) Publish(name string, meta *imagemeta.Meta, force bool) error {
	if t.done {
		return errors.New("transaction already finished")
	}
	if t.r.foreign != nil {
		return t.publishForeign(meta)
	}
	link := t.r.join("images", name)
	if _, err := os.Lstat(link); err == nil && !force {
		return t.existsError(name)
	}
	if meta.Squashfs != nil { // its writeback goes on while the blobs are synced
		if f, err := os.Open(filepath.Join(t.dir, "image", meta.Squashfs.File)); err == nil {
			startWriteback(f)
			f.Close()
		}
	}
	if err := t.commitBlobs(); err != nil {
		return err
	}
	if err := t.writeMeta(meta); err != nil {
		return err
	}
	store := t.r.join("store", t.id)
	if err := os.Rename(filepath.Join(t.dir, "image"), store); err != nil {
		return fmt.Errorf("publishing image %q: %w", name, err)
	}
	old, err := t.link(name, force)
	if err != nil {
		os.RemoveAll(store)
		return err
	}
	if old != "" {
		os.RemoveAll(filepath.Join(t.r.join("images"), old))
	}
	t.finish()
	return nil
}

func (t *Tx) existsError(name string) error {
	return fmt.Errorf("%w: %q in repository %q (use -f to replace it)", ErrExists, name, t.r.Name)
}

// link points images/name at the new store directory and returns the
// previous target, if any. Creating a symlink fails if the name exists, which
// makes "import without -f" safe against a concurrent import of the same name;
// replacing goes through rename(2), which is atomic.
func (t *Tx) link(name string, force bool) (string, error) {
	target := filepath.Join("..", "store", t.id)
	link := t.r.join("images", name)
	if !force {
		if err := os.Symlink(target, link); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return "", t.existsError(name)
			}
			return "", fmt.Errorf("publishing image %q: %w", name, err)
		}
		return "", nil
	}
	old, _ := os.Readlink(link)
	tmp := t.r.join("images", "."+name+"."+t.id)
	if err := os.Symlink(target, tmp); err != nil {
		return "", fmt.Errorf("publishing image %q: %w", name, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("publishing image %q: %w", name, err)
	}
	return old, nil
}

func (t *Tx) writeMeta(meta *imagemeta.Meta) error {
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(t.dir, "image", metaFile)
	if err := writeFileSync(p, append(data, '\n')); err != nil {
		return fmt.Errorf("writing image metadata: %w", err)
	}
	if meta.Squashfs != nil {
		if err := syncFile(filepath.Join(t.dir, "image", meta.Squashfs.File)); err != nil {
			return fmt.Errorf("writing squashfs: %w", err)
		}
	}
	return nil
}

// commitBlobs moves staged blobs into blobs/. A blob that appeared meanwhile
// (another import of a shared layer) is kept: both are the same bytes.
func (t *Tx) commitBlobs() error {
	for d, p := range t.staged {
		dst, _ := t.r.BlobPath(d)
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := syncFile(p); err != nil {
			return fmt.Errorf("storing blob %s: %w", d, err)
		}
		if err := os.Rename(p, dst); err != nil {
			return fmt.Errorf("storing blob %s: %w", d, err)
		}
	}
	return nil
}

// Abort discards the transaction. It is safe to call after Publish.
func (t *Tx) Abort() {
	if t.done {
		return
	}
	t.finish()
}

func (t *Tx) finish() {
	t.done = true
	os.RemoveAll(t.dir)
	t.repoLock.close()
	t.r.TryClean()
}
