package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

const (
	markerFile = "pcocc-repo.json"
	lockFile   = ".lock"
	metaFile   = "meta.json"
	formatV1   = 1
)

// Repo is one image repository on disk.
type Repo struct {
	Name     string
	Path     string
	ReadOnly bool // the caller cannot change it (a shared project or site repository)
	foreign  Foreign
}

type marker struct {
	Format int `json:"format"`
}

// Open opens the repository at path, initialising it when path is missing or
// an empty directory (its parent must exist). A repository the caller cannot
// write is opened read-only.
func Open(name, path string) (*Repo, error) {
	r := &Repo{Name: name, Path: path}
	if found, err := openForeign(r); found {
		if err != nil {
			return nil, fmt.Errorf("opening repository %q at %s: %w", name, path, err)
		}
		return r, nil
	}
	if err := r.initIfNeeded(); err != nil {
		return nil, fmt.Errorf("opening repository %q at %s: %w", name, path, err)
	}
	r.ReadOnly = unix.Access(path, unix.W_OK) != nil
	return r, nil
}

func (r *Repo) initIfNeeded() error {
	data, err := os.ReadFile(r.join(markerFile))
	if err == nil {
		var m marker
		if err := json.Unmarshal(data, &m); err != nil || m.Format != formatV1 {
			return fmt.Errorf("%s: unsupported repository format", r.join(markerFile))
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	entries, err := os.ReadDir(r.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, perr := os.Stat(filepath.Dir(r.Path)); perr != nil {
			return fmt.Errorf("parent directory %s does not exist", filepath.Dir(r.Path))
		}
		if err := os.Mkdir(r.Path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%w: the directory is not empty and has no %s", ErrNotRepo, markerFile)
	}
	return r.create()
}

// create lays out a new repository. The marker is written last, through a
// rename, so that a half-made repository is still "empty" to the next Open.
func (r *Repo) create() error {
	for _, d := range []string{"blobs/sha256", "store", "images", "tmp"} {
		if err := os.MkdirAll(r.join(d), 0o755); err != nil {
			return err
		}
	}
	tmp := r.join(markerFile + ".new")
	if err := os.WriteFile(tmp, []byte(`{"format": 1}`+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, r.join(markerFile))
}

func (r *Repo) join(elem ...string) string {
	return filepath.Join(append([]string{r.Path}, elem...)...)
}

// Image is one image of a repository.
type Image struct {
	Repo *Repo
	Name string
	Dir  string // its store directory
	Meta imagemeta.Meta
	Err  error // set when the image is listed but its metadata cannot be read
	// Revision is the image's selected revision: in a repository of the
	// original pcocc (see Foreign), or of a VM image (the newest unless
	// NAME@REV chose another); "" for pcocc's own container images.
	Revision string
}

// SquashfsPath returns the image's squashfs, or a *NoSquashfsError.
func (i *Image) SquashfsPath() (string, error) {
	if i.Meta.Type == imagemeta.TypeVM {
		return "", fmt.Errorf("%s is a VM image: it is not run as a container; start a VM of it with 'pcocc alloc %s'", i.QualifiedName(), i.QualifiedName())
	}
	if i.Meta.Squashfs == nil {
		return "", &NoSquashfsError{Name: i.QualifiedName()}
	}
	p := filepath.Join(i.Dir, i.Meta.Squashfs.File)
	if _, err := os.Stat(p); err != nil {
		return "", &NoSquashfsError{Name: i.QualifiedName()}
	}
	return p, nil
}

// HasSquashfs reports whether the image can run.
func (i *Image) HasSquashfs() bool {
	_, err := i.SquashfsPath()
	return err == nil
}

// QualifiedName is REPO:NAME, or NAME in the user repository.
func (i *Image) QualifiedName() string { return QualifiedName(i.Repo.Name, i.Name) }

// QualifiedName is the shortest reference to image name of repository
// repoName: NAME in the user repository, REPO:NAME elsewhere.
func QualifiedName(repoName, name string) string {
	if repoName == config.UserRepo {
		return name
	}
	return repoName + ":" + name
}

// Get returns the image called name.
func (r *Repo) Get(name string) (*Image, error) {
	if r.foreign != nil {
		return r.foreign.Get(r, name, "")
	}
	target, err := os.Readlink(r.join("images", name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %q in repository %q", ErrNotFound, name, r.Name)
		}
		return nil, err
	}
	img := &Image{Repo: r, Name: name, Dir: r.join("images", target)}
	img.Dir = filepath.Clean(img.Dir)
	if err := imagemeta.ReadFile(filepath.Join(img.Dir, metaFile), &img.Meta); err != nil {
		return img, fmt.Errorf("reading image %q: %w", name, err)
	}
	if latest := img.Meta.VM.Latest(); latest != nil {
		img.Revision = strconv.Itoa(latest.Rev)
	}
	return img, nil
}

// List returns the images of the repository, sorted by name. Images whose
// metadata cannot be read are returned with Err set.
func (r *Repo) List() ([]*Image, error) {
	if r.foreign != nil {
		return r.foreign.List(r)
	}
	entries, err := os.ReadDir(r.join("images"))
	if err != nil {
		return nil, fmt.Errorf("listing repository %q: %w", r.Name, err)
	}
	var out []*Image
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue // a name symlink being replaced
		}
		img, err := r.Get(e.Name())
		if img == nil {
			continue
		}
		img.Err = err
		out = append(out, img)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// BlobPath returns where the blob with this digest is stored.
func (r *Repo) BlobPath(d digest.Digest) (string, error) {
	if r.foreign != nil {
		return r.foreign.BlobPath(d)
	}
	hex, err := digestHex(d)
	if err != nil {
		return "", err
	}
	return r.join("blobs", "sha256", hex), nil
}

// OpenBlob opens a stored blob.
func (r *Repo) OpenBlob(d digest.Digest) (*os.File, error) {
	p, err := r.BlobPath(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s of repository %q: %w", d, r.Name, err)
	}
	return f, nil
}

func digestHex(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return d.Hex(), nil
}
