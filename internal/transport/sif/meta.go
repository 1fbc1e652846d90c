package sif

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/pcocc/pcocc/internal/envscript"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/sqfuse"
)

// Where Apptainer keeps an image's metadata inside its root file system.
const (
	sifMetaDir    = "/.singularity.d"
	sifEnvDir     = sifMetaDir + "/env"
	sifRunscript  = sifMetaDir + "/runscript"
	sifLabelsFile = sifMetaDir + "/labels.json"
	maxEnvScript  = 1 << 20
)

// sifRuntimeScripts are written by Apptainer itself into every image and
// only serve its own runtime (SCIF apps, the --nv library directory, the
// prompt, --env-file and prepend/append PATH options): not image content.
var sifRuntimeScripts = []string{"94-appsbase.sh", "95-apps.sh", "99-base.sh", "99-runtimevars.sh"}

// sifConfig returns the imagesrc.SquashfsRoot.Config of a SIF: the files are read
// with pcocc's own squashfs reader (nothing is mounted and nothing of the
// image runs); the environment scripts are evaluated by the envscript
// package's parser, never run; the runscript becomes the entrypoint so that
// running the image with arguments behaves as 'apptainer run'.
func sifConfig(objLabels map[string]string, warns []string) func(context.Context, string) (imagemeta.Config, []string, error) {
	return func(_ context.Context, sqfs string) (imagemeta.Config, []string, error) {
		var cfg imagemeta.Config
		f, err := os.Open(sqfs)
		if err != nil {
			return cfg, nil, err
		}
		defer f.Close()
		img, err := sqfuse.Open(f, 0)
		if err != nil {
			return cfg, nil, fmt.Errorf("reading the image's metadata: %w", err)
		}
		rd := sqfsReader{img}
		top, err := rd.list(sifMetaDir)
		if err != nil {
			return cfg, nil, err
		}
		if top == nil {
			return cfg, append(warns, "the image has no "+sifMetaDir+": no environment, labels nor runscript to keep"), nil
		}
		if t, ok := top["runscript"]; ok && (t.IsRegular() || t == fs.ModeSymlink) {
			cfg.Entrypoint = []string{sifRunscript}
		}
		if cfg.Labels, err = rd.labels(top, objLabels); err != nil {
			return cfg, nil, err
		}
		if t, ok := top["env"]; ok && t.IsDir() {
			if cfg.Env, warns, err = rd.env(warns); err != nil {
				return cfg, nil, err
			}
		}
		return cfg, warns, nil
	}
}

func (rd sqfsReader) labels(top map[string]fs.FileMode, extra map[string]string) (map[string]string, error) {
	labels := map[string]string{}
	if t, ok := top["labels.json"]; ok && t.IsRegular() {
		b, err := rd.cat(sifLabelsFile, imagesrc.MaxJSON)
		if err != nil {
			return nil, err
		}
		if labels, err = decodeLabels(b); err != nil {
			return nil, fmt.Errorf("reading %s: %w", sifLabelsFile, err)
		}
	}
	maps.Copy(labels, extra)
	if len(labels) == 0 {
		return nil, nil
	}
	return labels, nil
}

// env evaluates the scripts in the order Apptainer sources them.
func (rd sqfsReader) env(warns []string) ([]string, []string, error) {
	entries, err := rd.list(sifEnvDir)
	if err != nil {
		return nil, nil, err
	}
	names := slices.Sorted(maps.Keys(entries))
	st := envscript.New()
	for _, name := range names {
		if !strings.HasSuffix(name, ".sh") || slices.Contains(sifRuntimeScripts, name) {
			continue
		}
		file := path.Join(sifEnvDir, name)
		if !entries[name].IsRegular() {
			warns = append(warns, fmt.Sprintf("%s: skipped: not a regular file", file))
			continue
		}
		b, err := rd.cat(file, maxEnvScript)
		if err != nil {
			return nil, nil, err
		}
		st.Eval(file, string(b))
	}
	return st.Env(), append(warns, st.Warnings()...), nil
}

// sqfsReader reads the metadata files out of an image, by their absolute
// path in the container.
type sqfsReader struct{ img *sqfuse.Image }

// list returns the entries of a directory and their type; nil when the
// directory does not exist.
func (rd sqfsReader) list(dir string) (map[string]fs.FileMode, error) {
	ents, err := rd.img.ReadDir(strings.TrimPrefix(dir, "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s from the squashfs: %w", dir, unwrapPath(err))
	}
	entries := make(map[string]fs.FileMode, len(ents))
	for _, e := range ents {
		entries[e.Name()] = e.Type()
	}
	return entries, nil
}

// cat returns a regular file's content, of at most limit bytes.
func (rd sqfsReader) cat(file string, limit int64) ([]byte, error) {
	b, err := rd.read(strings.TrimPrefix(file, "/"), limit)
	if err != nil {
		return nil, fmt.Errorf("reading %s from the squashfs: %w", file, unwrapPath(err))
	}
	return b, nil
}

func (rd sqfsReader) read(name string, limit int64) ([]byte, error) {
	f, err := rd.img.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case fi.Size() > limit:
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return io.ReadAll(f)
}

// unwrapPath drops the *fs.PathError's own "open NAME:" (the callers name
// the file as the container sees it).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
