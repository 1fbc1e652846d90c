package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Foreign reads (and, for rebuilds only, writes) a repository laid out by
// another tool: the original pcocc's object store (internal/legacyrepo).
// Everything that knows such a format lives behind this interface, so the
// rest of this package and its callers handle one kind of Repo.
type Foreign interface {
	// Describe names the format for messages and 'pcocc check'.
	Describe() string
	// Get returns an image; rev is "" for the newest revision. A missing
	// image is an error matching ErrNotFound.
	Get(r *Repo, name, rev string) (*Image, error)
	// List returns the images, sorted by name (newest revision of each).
	List(r *Repo) ([]*Image, error)
	// BlobPath is where the blob with this digest is stored.
	BlobPath(d digest.Digest) (string, error)
	// TmpDir is where a rebuild prepares its files.
	TmpDir() string
	// Writable reports whether the caller can write what a rebuild writes.
	Writable() bool
	// PublishSquashfs records sqfs (a file under TmpDir) as the squashfs of
	// img, which meta describes, keeping the repository valid for its tool.
	PublishSquashfs(img *Image, meta *imagemeta.Meta, sqfs string) error
}

// ForeignFormats detect the formats of other tools. Each returns nil, nil
// when path is not in its format. They are registered by the packages that
// implement them (in their init), and tried by Open before pcocc's own
// format, so that such a directory is never taken for a non-empty one.
var ForeignFormats []func(path string) (Foreign, error)

func openForeign(r *Repo) (bool, error) {
	for _, detect := range ForeignFormats {
		f, err := detect(r.Path)
		if err != nil {
			return true, err
		}
		if f != nil {
			r.foreign = f
			r.ReadOnly = !f.Writable()
			return true, nil
		}
	}
	return false, nil
}

// Format describes the repository's on-disk format when it is another
// tool's, and is "" for pcocc's own.
func (r *Repo) Format() string {
	if r.foreign == nil {
		return ""
	}
	return r.foreign.Describe()
}

// GetRevision returns revision rev of an image ("" for the newest). VM
// images and the images of repositories in the original pcocc's format have
// revisions: NAME@REV of a container image of pcocc's own is not found.
func (r *Repo) GetRevision(name, rev string) (*Image, error) {
	if r.foreign != nil {
		return r.foreign.Get(r, name, rev)
	}
	img, err := r.Get(name)
	if errors.Is(err, ErrNotFound) && rev != "" {
		return nil, fmt.Errorf("%w: %q in repository %q", ErrNotFound, name+"@"+rev, r.Name)
	}
	if err != nil || rev == "" {
		return img, err
	}
	n, _ := strconv.Atoi(rev)
	if img.Meta.VM == nil {
		return nil, fmt.Errorf("%w: %q in repository %q (a container image has no revisions)", ErrNotFound, name+"@"+rev, r.Name)
	}
	if img.Meta.VM.Revision(n) == nil {
		return nil, fmt.Errorf("%w: %q in repository %q (its revisions: %s)", ErrNotFound, name+"@"+rev, r.Name, revList(img.Meta.VM))
	}
	img.Revision = strconv.Itoa(n)
	return img, nil
}

func revList(v *imagemeta.VM) string {
	s := make([]string, len(v.Revisions))
	for i, r := range v.Revisions {
		s[i] = strconv.Itoa(r.Rev)
	}
	return strings.Join(s, ", ")
}

// errForeignWrite refuses a change pcocc does not make to another tool's repository.
func (r *Repo) errForeignWrite(what string) error {
	return fmt.Errorf("repository %q (%s) is in %s: pcocc only rebuilds its images; %s",
		r.Name, r.Path, r.foreign.Describe(), what)
}

// BeginRebuild starts a transaction that replaces the squashfs of img, an
// image of r; in another tool's repository it is the only change pcocc makes.
func (r *Repo) BeginRebuild(img *Image) (*Tx, error) {
	if r.foreign == nil {
		return r.Begin()
	}
	if r.ReadOnly {
		return nil, r.readOnlyError()
	}
	removeDeadWork(r.foreign.TmpDir())
	t := &Tx{r: r, id: newID(), staged: map[digest.Digest]string{}, rebuild: img}
	t.dir = filepath.Join(r.foreign.TmpDir(), foreignWorkPrefix+t.id)
	err := os.MkdirAll(filepath.Join(t.dir, "image"), 0o755)
	if err == nil {
		// Held while the rebuild lives: a killed rebuild's directory is
		// the one whose lock is free (see removeDeadWork).
		if t.repoLock, err = openLock(filepath.Join(t.dir, lockFile)); err == nil {
			err = t.repoLock.exclusive()
		}
	}
	if err != nil {
		t.Abort()
		return nil, fmt.Errorf("preparing rebuild in repository %q: %w", r.Name, err)
	}
	return t, nil
}

// foreignWorkPrefix names pcocc's work directories in another tool's work
// area, so that pcocc never touches that tool's own files there.
const foreignWorkPrefix = "pcocc-"

// removeDeadWork removes the work directories of killed rebuilds: those
// whose lock nobody holds. The other tool's files are left alone.
func removeDeadWork(tmp string) {
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), foreignWorkPrefix) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		// Not created here: a directory without its lock yet is being born.
		f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		l := &fileLock{f: f}
		if l.tryExclusive() {
			os.RemoveAll(dir)
		}
		l.close()
	}
}

// publishForeign records a rebuilt squashfs in another tool's repository.
func (t *Tx) publishForeign(meta *imagemeta.Meta) error {
	defer t.finish()
	if t.rebuild == nil {
		return t.r.errForeignWrite("import into another repository")
	}
	return t.r.foreign.PublishSquashfs(t.rebuild, meta, t.SquashfsPath())
}
