package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

// Image is an image found, ready to run.
type Image struct {
	Repo     string         // repository name
	Name     string         // image name
	Meta     imagemeta.Meta // stored metadata (config, origin, layers)
	Squashfs string         // absolute path of the image's squashfs file
	Mount    string         // its repository's "mount:" setting
}

// FromRepo returns the runnable form of a repository image; it fails when
// the image has no squashfs.
func FromRepo(img *repo.Image) (*Image, error) {
	sq, err := img.SquashfsPath()
	if err != nil {
		return nil, err
	}
	return &Image{Repo: img.Repo.Name, Name: img.Name, Meta: img.Meta, Squashfs: sq}, nil
}

// Target is what `pcocc run NAME` runs: an image, maybe through a template.
type Target struct {
	Image    container.Image
	Template *config.Template // nil when NAME is an image
}

// A SourceFunc resolves a transport reference (docker-archive:x.tar):
// ok is false when ref is not one, and ref is then looked up in the
// repositories.
type SourceFunc func(ctx context.Context, ref string) (img *Image, ok bool, err error)

// Resolver resolves the names `pcocc run` and the image commands accept.
type Resolver struct {
	Config *config.Config
	// Repos returns the configured repositories (loaded once by the caller,
	// which owns the warnings about them).
	Repos func() (*Repos, error)
	// Source resolves transport references; nil: there are none.
	Source SourceFunc
	// Hint explains a bare name found nowhere when it looks like something
	// else (a file, a mount spec); nil or a nil error: nothing to say.
	Hint func(name string) error
}

// Image finds [REPO:]NAME in the repositories, or a transport reference
// through Source.
func (r *Resolver) Image(ctx context.Context, ref string) (*Image, error) {
	img, _, err := r.image(ctx, ref)
	return img, err
}

// image is Image, and whether ref is a transport reference.
func (r *Resolver) image(ctx context.Context, ref string) (*Image, bool, error) {
	if r.Source != nil {
		if img, ok, err := r.Source(ctx, ref); ok {
			return img, true, err
		}
	}
	set, err := r.Repos()
	if err != nil {
		return nil, false, err
	}
	found, err := set.Find(ref)
	if err != nil {
		return nil, false, err
	}
	img, err := FromRepo(found)
	if img != nil {
		img.Mount = set.Def(found.Repo.Name).Mount
	}
	return img, false, err
}

// Target finds NAME: a template first (a template wins over an image of the
// same name), else an image. REPO:NAME is always an image.
func (r *Resolver) Target(ctx context.Context, name string) (Target, error) {
	if err := r.Config.Err(config.KindContainers); err != nil {
		return Target{}, err
	}
	if !strings.Contains(name, ":") {
		t, err := r.Config.Template(name)
		if err == nil {
			return r.templateTarget(ctx, t)
		}
		if !errors.Is(err, config.ErrNotFound) {
			return Target{}, err
		}
	}
	img, source, err := r.image(ctx, name)
	switch {
	case err == nil:
		return Target{Image: container.Image{Ref: name, Squashfs: img.Squashfs, Config: img.Meta.Config, Mount: img.Mount}}, nil
	case source:
		return Target{}, err // the import's own message
	}
	if r.Hint != nil {
		if herr := r.Hint(name); herr != nil {
			return Target{}, herr
		}
	}
	return Target{}, r.noImageOrTemplate(name, err)
}

func (r *Resolver) templateTarget(ctx context.Context, t config.Template) (Target, error) {
	if t.Host {
		return Target{Image: container.Image{Ref: t.Name, HostRoot: true}, Template: &t}, nil
	}
	img, err := r.Image(ctx, t.Rootfs)
	if err != nil {
		return Target{}, fmt.Errorf("template %q (%s): rootfs: %w", t.Name, t.Source, err)
	}
	return Target{
		Image:    container.Image{Ref: t.Rootfs, Squashfs: img.Squashfs, Config: img.Meta.Config, Mount: img.Mount},
		Template: &t,
	}, nil
}

// noImageOrTemplate adds the known templates to the failure to find a bare
// name, and the closest image or template name: the user may have mistyped
// either.
func (r *Resolver) noImageOrTemplate(name string, err error) error {
	if strings.Contains(name, ":") || !errors.Is(err, repo.ErrNotFound) {
		return err
	}
	tpls, _ := r.Config.Templates()
	names := make([]string, 0, len(tpls))
	for _, t := range tpls {
		names = append(names, t.Name)
	}
	err = fmt.Errorf("%w, and no template %q (templates: %s)", err, name, strings.Join(names, ", "))
	if set, serr := r.Repos(); serr == nil {
		for _, n := range ImageNames(set) {
			names = append(names, n.Name)
		}
	}
	if s := config.Suggest(name, names); s != "" {
		err = fmt.Errorf("%w; did you mean %q?", err, s)
	}
	return err
}

// ImageName is a name that reaches an image: NAME (once, for the
// repository a bare name finds) or REPO:NAME.
type ImageName struct {
	Name      string
	Repo      string // the repository it reaches
	Qualified bool   // Name is REPO:NAME
}

// ImageNames lists the names of every image of every existing repository.
func ImageNames(s *Repos) []ImageName {
	seen := map[string]bool{}
	var out []ImageName
	for _, r := range s.Existing() {
		imgs, _ := r.List()
		for _, img := range imgs {
			if !seen[img.Name] {
				seen[img.Name] = true
				out = append(out, ImageName{Name: img.Name, Repo: r.Name})
			}
			out = append(out, ImageName{Name: r.Name + ":" + img.Name, Repo: r.Name, Qualified: true})
		}
	}
	return out
}

// Shadowed returns REPO:NAME of the image a template hides from a bare
// name, "" when there is none.
func (r *Resolver) Shadowed(ctx context.Context, t config.Template) string {
	img, err := r.Image(ctx, t.Name)
	if err != nil {
		return ""
	}
	return img.Repo + ":" + img.Name
}
