//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/transport"
)

// The second part of 'image cache list|clean': the images that 'pcocc run
// TRANSPORT:SOURCE' imported into the user's cache of sources (srccache.go).

func listSourceCache(g *Globals) error {
	r, dir, err := openSourceCache(false)
	if err != nil {
		return err
	}
	var imgs []*repo.Image
	if r != nil { // nil: no source was run yet
		if imgs, err = r.List(); err != nil {
			return err
		}
	}
	const format = "%-60s %10s  %s\n"
	row := func(a ...any) { fmt.Fprint(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " \n")+"\n") }
	fmt.Fprintln(g.Stdout)
	row("Source (run without import)", "Size", "Imported")
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	for _, img := range imgs {
		var size int64
		if p, err := img.SquashfsPath(); err == nil {
			if fi, err := os.Stat(p); err == nil {
				size = fi.Size()
			}
		}
		state := img.Meta.Origin.Date.Format("2006-01-02 15:04")
		if sourceGone(img) {
			state += ", stale (source file gone)"
		}
		row(img.Meta.Origin.Source, humanSize(size), state)
	}
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	fmt.Fprintf(g.Stdout, "%s, %s in %s\n", plural(len(imgs), "source"), humanSize(treeSize(dir)), dir)
	return nil
}

// cleanSourceCache deletes the imported sources (with stale, those whose
// file is gone) and then what no entry uses. A running container keeps its
// squashfs open: deleting the entry frees the space when it ends.
func cleanSourceCache(stale bool) (removed int, freed int64, err error) {
	r, dir, err := openSourceCache(false)
	if err != nil || r == nil {
		return 0, 0, err
	}
	before := treeSize(dir)
	imgs, err := r.List()
	if err != nil {
		return 0, 0, err
	}
	for _, img := range imgs {
		if stale && !sourceGone(img) {
			continue
		}
		if err := r.Delete(img.Name); err != nil {
			return removed, 0, err
		}
		removed++
	}
	if _, err := r.Clean(); err != nil {
		return removed, 0, err
	}
	return removed, max(before-treeSize(dir), 0), nil
}

// sourceGone reports whether the file an entry was imported from is gone.
func sourceGone(img *repo.Image) bool {
	ref, err := transport.ParseRef(img.Meta.Origin.Source)
	if err != nil || ref.Path == "" {
		return false
	}
	_, err = os.Stat(ref.Path)
	return err != nil
}

func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
