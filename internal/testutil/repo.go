package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

// Publish opens (creating it) the repository name at path and publishes
// images there, each with meta. A meta with a Squashfs gets a squashfs
// file of that name holding nothing: enough for the commands that find,
// list and plan, not for a mount.
func Publish(t testing.TB, name, path string, meta imagemeta.Meta, images ...string) *repo.Repo {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(name, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		tx, err := r.Begin()
		if err != nil {
			t.Fatal(err)
		}
		m := meta
		if m.Squashfs != nil {
			WriteFile(t, filepath.Join(filepath.Dir(tx.SquashfsPath()), m.Squashfs.File), "")
		}
		if err := tx.Publish(img, &m, false); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Runnable is the metadata of an image that resolves as runnable, with
// config as its image configuration.
func Runnable(config imagemeta.Config) imagemeta.Meta {
	return imagemeta.Meta{Config: config, Squashfs: &imagemeta.Squashfs{File: "rootfs.sqfs"}}
}
