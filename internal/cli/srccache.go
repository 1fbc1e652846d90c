//go:build !pcocc_launcher

package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/resolve"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/transport"
)

// The cache of sources: 'pcocc run docker-archive:x.tar' (any transport
// reference where an image name goes) imports the source once into a private
// repository of the user, under $XDG_CACHE_HOME/pcocc/sources (default
// ~/.cache/pcocc/sources), and runs it from there. An entry is named after
// the source's content, never its path alone (see sourceKey): a file that
// changes is imported again, a file moved or copied is not.

const cacheRepoName = "cache"

// sourceRef parses target as a transport reference. REPO:NAME of a
// configured repository is not one, even if REPO is also a transport.
func sourceRef(cfg *config.Config, target string) (imagesrc.Ref, bool) {
	ref, err := transport.ParseRef(target)
	if err != nil {
		return imagesrc.Ref{}, false
	}
	if _, err := cfg.Repository(ref.Transport); err == nil {
		return imagesrc.Ref{}, false
	}
	return ref, true
}

// sourceCacheDir is the directory of the cache of sources.
func sourceCacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if !filepath.IsAbs(base) {
		home := os.Getenv("HOME")
		if !filepath.IsAbs(home) {
			return "", errors.New("cannot run an image source without a cache directory: set HOME or XDG_CACHE_HOME, or import it with 'pcocc image import'")
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "pcocc", "sources"), nil
}

// openSourceCache opens (creating it if create) the repository of the cache.
// It returns nil, nil when the cache does not exist and create is false.
func openSourceCache(create bool) (*repo.Repo, string, error) {
	dir, err := sourceCacheDir()
	if err != nil {
		return nil, "", err
	}
	if !create {
		if _, err := os.Stat(filepath.Join(dir, "repo")); err != nil {
			return nil, dir, nil
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, "locks"), filepath.Join(dir, "memo")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, "", fmt.Errorf("creating the cache of image sources: %w", err)
		}
	}
	r, err := repo.Open(cacheRepoName, filepath.Join(dir, "repo"))
	return r, dir, err
}

// runSource resolves a transport reference: from the cache, importing it
// first when the cache lacks it. Ctrl-C during the import says so, as
// image import does.
// runSourceRef runs target from the cache of sources when it is a transport
// reference (ok), importing it first when it is not there.
func runSourceRef(ctx context.Context, g *Globals, cfg *config.Config, target string) (img *resolve.Image, ok bool, err error) {
	src, ok := sourceRef(cfg, target)
	if !ok {
		return nil, false, nil
	}
	img, err = runSource(ctx, g, target, src)
	return img, true, err
}

func runSource(ctx context.Context, g *Globals, target string, ref imagesrc.Ref) (*resolve.Image, error) {
	img, err := cachedSource(ctx, g, target, ref)
	return img, interrupted(ctx, err, "nothing was imported")
}

func cachedSource(ctx context.Context, g *Globals, target string, ref imagesrc.Ref) (*resolve.Image, error) {
	r, dir, err := openSourceCache(true)
	if err != nil {
		return nil, err
	}
	key, src, err := sourceKey(ctx, dir, ref)
	if src != nil {
		defer src.Close()
	}
	if err != nil {
		return nil, err
	}
	name := "src-" + key
	if res, err := cachedImage(r, name); err == nil {
		return res, nil
	}
	// One import per source: concurrent first runs wait for it, then
	// find the image.
	unlock, err := lockEntry(ctx, filepath.Join(dir, "locks", name))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if res, err := cachedImage(r, name); err == nil {
		return res, nil
	}
	if src == nil {
		if src, err = transport.Open(ctx, ref); err != nil {
			return nil, err
		}
		defer src.Close()
	}
	if !g.Quiet {
		msg := fmt.Sprintf("importing %s into your cache of image sources, once (see 'pcocc image cache list')", target)
		fmt.Fprintf(g.Stderr, "%s: %s\n", g.Name, Printable(CalledAs(g.Name, msg)))
	}
	// Recorded with an absolute path, for 'image cache list' and clean --stale.
	if ref.Path != "" {
		if abs, err := filepath.Abs(ref.Path); err == nil {
			ref.Path = abs
		}
	}
	// Only the squashfs: an entry is never rebuilt nor exported (the
	// source itself is at hand), so its layers would double its disk use.
	o := importOptions{compress: squashfs.DefaultCompression, noLayers: true}
	if err := importInto(ctx, g, r, name, ref.String(), src, o); err != nil {
		return nil, err
	}
	return cachedImage(r, name)
}

func cachedImage(r *repo.Repo, name string) (*resolve.Image, error) {
	img, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	return resolve.FromRepo(img)
}

// sourceKey names a source by its content. A file (docker-archive,
// oci-archive, sif) by the digest of its bytes, remembered per file identity
// (see digestMemo.fileDigest) so that later runs do not read it again; a directory, the
// Docker engine or a registry by the digest of the image's manifest (or
// config), which names its layers: the opened source is returned for reuse.
func sourceKey(ctx context.Context, dir string, ref imagesrc.Ref) (string, imagesrc.Image, error) {
	var id digest.Digest
	var src imagesrc.Image
	switch {
	case ref.IsFile():
		d, err := newDigestMemo(filepath.Join(dir, "memo")).fileDigest(ctx, ref.Path)
		if err != nil {
			return "", nil, fmt.Errorf("opening %s: %w", ref, err)
		}
		id = d
	default:
		img, err := transport.Open(ctx, ref)
		if err != nil {
			return "", nil, err
		}
		src, id = img, img.Digest()
	}
	// The reference inside the file (a tag of a multi-image archive) is
	// part of what is run.
	inner := ref.Ref
	if ref.Path == "" {
		inner = "" // docker://, docker-daemon: the digest says it all
	}
	sum := sha256.Sum256([]byte(ref.Transport + "\x00" + string(id) + "\x00" + inner))
	return hex.EncodeToString(sum[:]), src, nil
}

// lockEntry takes the lock of a cache entry, waiting for another command
// importing it; Ctrl-C ends the wait.
func lockEntry(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking the cache of image sources: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking the cache of image sources: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
