package resolve

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/testutil"
)

// setup is a configuration with repositories user, gone (whose parent
// directory is missing) and shared, templates, and images published for real:
// alpha and beta in user, alpha and gamma in shared, and a template "tpl"
// that shadows the image of the same name in shared.
func setup(t *testing.T) (*Resolver, *[]string) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	testutil.WriteFile(t, filepath.Join(conf, "repositories.yaml"), "repositories:\n"+
		"  gone: {path: "+dir+"/no/such/images}\n"+
		"  shared: {path: "+dir+"/shared}\n")
	testutil.WriteFile(t, filepath.Join(conf, "containers.yaml"), "containers:\n"+
		"  tpl: {rootfs: beta}\n"+
		"  broken: {rootfs: nowhere}\n")
	meta := func(ep string) imagemeta.Meta { return testutil.Runnable(imagemeta.Config{Entrypoint: []string{ep}}) }
	testutil.Publish(t, config.UserRepo, filepath.Join(dir, "user"), meta("/user-alpha"), "alpha")
	testutil.Publish(t, config.UserRepo, filepath.Join(dir, "user"), meta("/user-beta"), "beta")
	testutil.Publish(t, "shared", filepath.Join(dir, "shared"), meta("/shared"), "alpha", "gamma", "tpl")
	testutil.Publish(t, "shared", filepath.Join(dir, "shared"), imagemeta.Meta{}, "unbuilt")
	cfg := config.Load(config.Dirs{System: filepath.Join(dir, "none"), User: conf, UserRepo: filepath.Join(dir, "user")},
		func(string) string { return "" })
	var warnings []string
	defs, err := cfg.Repositories()
	if err != nil {
		t.Fatal(err)
	}
	set := NewRepos(defs, func(msg string) { warnings = append(warnings, msg) })
	return &Resolver{Config: cfg, Repos: func() (*Repos, error) { return set, nil }}, &warnings
}

func TestImage(t *testing.T) {
	tests := []struct {
		ref, repo, ep string
		err           string // a part of the error's text
		notFound      bool   // errors.Is(err, repo.ErrNotFound)
		refErr        bool   // a *RefError
	}{
		{ref: "alpha", repo: "user", ep: "/user-alpha"}, // the user repository first
		{ref: "gamma", repo: "shared", ep: "/shared"},   // then the others, in order
		{ref: "shared:alpha", repo: "shared", ep: "/shared"},
		{ref: "user:beta", repo: "user", ep: "/user-beta"},
		{ref: "tpl", repo: "shared", ep: "/shared"}, // images only: no template here
		{ref: "nope", notFound: true, err: `image "nope" not found in any repository (searched user, shared; /`},
		{ref: "nope@2", notFound: true, err: "repositories.yaml:2:3: repository gone is unavailable here: parent directory"},
		{ref: "shared:beta", notFound: true, err: `image "beta" not found in repository "shared" (see 'pcocc image list -r shared')`},
		{ref: "gone:alpha", err: "repository gone is unavailable here"},
		{ref: "other:alpha", err: `unknown repository "other" (known: user, gone, shared)`},
		{ref: "unbuilt", err: "No squashfs has been built for this image: run 'pcocc image rebuild shared:unbuilt'"},
		{ref: "Bad Name!", refErr: true},
		{ref: "a:b:c", refErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, _ := setup(t)
			img, err := r.Image(context.Background(), tt.ref)
			var re *RefError
			if errors.As(err, &re) != tt.refErr || errors.Is(err, repo.ErrNotFound) != tt.notFound {
				t.Fatalf("Image(%q) = %v: RefError %v, not found %v; want %v, %v", tt.ref, err,
					errors.As(err, &re), errors.Is(err, repo.ErrNotFound), tt.refErr, tt.notFound)
			}
			if tt.err != "" || tt.refErr || tt.notFound {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Image(%q) = %v; want an error with %q", tt.ref, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Repo != tt.repo || img.Meta.Config.Entrypoint[0] != tt.ep || !strings.HasSuffix(img.Squashfs, "rootfs.sqfs") {
				t.Errorf("Image(%q) = %+v; want repository %s, entrypoint %s", tt.ref, img, tt.repo, tt.ep)
			}
		})
	}
}

// A bare name found past an unavailable repository warns about it, once.
func TestFindWarnsSkippedOnce(t *testing.T) {
	r, warnings := setup(t)
	for range 2 {
		if _, err := r.Image(context.Background(), "gamma"); err != nil {
			t.Fatal(err)
		}
	}
	if len(*warnings) != 1 || !strings.Contains((*warnings)[0], "repository gone is unavailable here") {
		t.Errorf("warnings %q; want one about gone", *warnings)
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		name     string
		template string // the template it goes through, "" for none
		ref, ep  string // the image it runs
		host     bool
		err      string
		notFound bool
	}{
		{name: "tpl", template: "tpl", ref: "beta", ep: "/user-beta"}, // a template shadows an image
		{name: "shared:tpl", ref: "shared:tpl", ep: "/shared"},        // REPO:NAME is always an image
		{name: "alpha", ref: "alpha", ep: "/user-alpha"},
		{name: config.HostPassthrough, template: config.HostPassthrough, ref: config.HostPassthrough, host: true},
		{name: "broken", err: `template "broken" (`, notFound: true},
		{name: "alpah", notFound: true, err: `, and no template "alpah" (templates: broken, host-passthrough, tpl); did you mean "alpha"?`},
		{name: "zzzzzz", notFound: true, err: `no template "zzzzzz"`},
		{name: "shared:nope", notFound: true, err: `image "nope" not found in repository "shared"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := setup(t)
			got, err := r.Target(context.Background(), tt.name)
			if errors.Is(err, repo.ErrNotFound) != tt.notFound || (tt.err == "") != (err == nil) {
				t.Fatalf("Target(%q) = %v; want not found %v, error %q", tt.name, err, tt.notFound, tt.err)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("Target(%q) = %v; want one line with %q", tt.name, err, tt.err)
				}
				return
			}
			tpl := ""
			if got.Template != nil {
				tpl = got.Template.Name
			}
			ep := ""
			if len(got.Image.Config.Entrypoint) > 0 {
				ep = got.Image.Config.Entrypoint[0]
			}
			if tpl != tt.template || got.Image.Ref != tt.ref || ep != tt.ep || got.Image.HostRoot != tt.host {
				t.Errorf("Target(%q) = template %q, image %+v; want template %q, image %s with entrypoint %q",
					tt.name, tpl, got.Image, tt.template, tt.ref, tt.ep)
			}
		})
	}
}

// A transport reference goes to Source, and its error is its own; a bare
// name found nowhere asks Hint first.
func TestTargetHooks(t *testing.T) {
	r, _ := setup(t)
	importErr := errors.New("import failed")
	r.Source = func(_ context.Context, ref string) (*Image, bool, error) {
		switch ref {
		case "docker-archive:x.tar":
			return &Image{Squashfs: "/cache/x.sqfs"}, true, nil
		case "docker-archive:bad.tar":
			return nil, true, importErr
		}
		return nil, false, nil
	}
	r.Hint = func(name string) error {
		if strings.HasSuffix(name, ".sif") {
			return errors.New("an image file")
		}
		return nil
	}
	ctx := context.Background()
	if got, err := r.Target(ctx, "docker-archive:x.tar"); err != nil || got.Image.Squashfs != "/cache/x.sqfs" {
		t.Errorf("source: %+v, %v", got, err)
	}
	if _, err := r.Target(ctx, "docker-archive:bad.tar"); err != importErr {
		t.Errorf("source error: %v; want the import's own", err)
	}
	if _, err := r.Target(ctx, "x.sif"); err == nil || err.Error() != "an image file" {
		t.Errorf("hint: %v", err)
	}
	if got, err := r.Target(ctx, "alpha"); err != nil || got.Image.Ref != "alpha" {
		t.Errorf("a name the hooks do not know: %+v, %v", got, err)
	}
}

func TestDest(t *testing.T) {
	tests := []struct{ ref, repo, name, err string }{
		{ref: "new", repo: config.UserRepo, name: "new"},
		{ref: "shared:new", repo: "shared", name: "new"},
		{ref: "new@3", err: "a revision (@3) selects an existing image"},
		{ref: "Bad Name!", err: "Bad Name!"},
	}
	for _, tt := range tests {
		r, _ := setup(t)
		set, _ := r.Repos()
		rp, name, err := set.Dest(tt.ref)
		var re *RefError
		if tt.err != "" {
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Dest(%q) = %v; want a RefError with %q", tt.ref, err, tt.err)
			}
			continue
		}
		if err != nil || rp.Name != tt.repo || name != tt.name {
			t.Errorf("Dest(%q) = %v, %q, %v; want %s, %s", tt.ref, rp, name, err, tt.repo, tt.name)
		}
	}
}

func TestShadowed(t *testing.T) {
	r, _ := setup(t)
	for name, want := range map[string]string{"tpl": "shared:tpl", "broken": ""} {
		tpl, err := r.Config.Template(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Shadowed(context.Background(), tpl); got != want {
			t.Errorf("Shadowed(%s) = %q; want %q", name, got, want)
		}
	}
}
