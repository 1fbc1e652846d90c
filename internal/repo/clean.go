package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// CleanReport says what Clean removed.
type CleanReport struct {
	TmpDirs    int
	StoreDirs  int
	Blobs      int
	BytesFreed int64
}

// Clean removes what no image references: leftovers of interrupted commands
// (tmp/*), replaced or half-published store directories, and blobs no image
// uses. It waits for running commands on the repository to finish.
func (r *Repo) Clean() (CleanReport, error) {
	if r.ReadOnly {
		return CleanReport{}, fmt.Errorf("%w %q (%s): only its owner can clean it", ErrReadOnly, r.Name, r.Path)
	}
	if r.foreign != nil {
		return CleanReport{}, r.errForeignWrite("clean it with the original pcocc ('pcocc image repo gc')")
	}
	l, err := openLock(r.join(lockFile))
	if err != nil {
		return CleanReport{}, fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	defer l.close()
	if err := l.exclusive(); err != nil {
		return CleanReport{}, fmt.Errorf("locking repository %q: %w", r.Name, err)
	}
	return r.cleanLocked()
}

// TryClean cleans the repository if no other command is using it, and does
// nothing otherwise: every command that changes a repository calls it when
// it is done (Tx, Delete), so the leftovers of a killed command do not outlive
// the next such command. Commands that only read a repository never call it.
func (r *Repo) TryClean() {
	if r.ReadOnly || r.foreign != nil { // another tool's files are its own to clean
		return
	}
	l, err := openLock(r.join(lockFile))
	if err != nil {
		return
	}
	defer l.close()
	if l.tryExclusive() {
		r.cleanLocked()
	}
}

func (r *Repo) cleanLocked() (CleanReport, error) {
	var rep CleanReport
	// Under the exclusive lock no transaction is alive: every tmp dir is a leftover.
	rep.TmpDirs, rep.BytesFreed = removeChildren(r.join("tmp"), func(string) bool { return true })
	refs, err := r.references()
	if err != nil {
		return rep, err
	}
	n, b := removeChildren(r.join("store"), func(id string) bool { return !refs.stores[id] })
	rep.StoreDirs, rep.BytesFreed = n, rep.BytesFreed+b
	n, b = removeChildren(r.join("blobs", "sha256"), func(hex string) bool {
		d, _ := digest.FromHex(hex) // "" for a name that is not a digest: removed
		return !refs.blobs[d]
	})
	rep.Blobs, rep.BytesFreed = n, rep.BytesFreed+b
	return rep, nil
}

type references struct {
	stores map[string]bool
	blobs  map[digest.Digest]bool
}

// references reads which store directories the names point at and which
// blobs those images use. Stale ".NAME.ID" symlinks of an interrupted
// replacement are removed on the way.
func (r *Repo) references() (*references, error) {
	refs := &references{stores: map[string]bool{}, blobs: map[digest.Digest]bool{}}
	entries, err := os.ReadDir(r.join("images"))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		p := r.join("images", e.Name())
		if strings.HasPrefix(e.Name(), ".") {
			os.Remove(p)
			continue
		}
		target, err := os.Readlink(p)
		if err != nil {
			continue
		}
		id := filepath.Base(target)
		refs.stores[id] = true
		refs.addBlobs(r.join("store", id, metaFile))
	}
	return refs, nil
}

func (refs *references) addBlobs(metaPath string) {
	var m imagemeta.Meta
	if imagemeta.ReadFile(metaPath, &m) != nil || m.NoLayers {
		return // without layers its digests name blobs it does not keep
	}
	if m.ConfigDigest != "" {
		refs.blobs[m.ConfigDigest] = true
	}
	for _, l := range m.Layers {
		refs.blobs[l.Digest] = true
	}
	for _, d := range m.VMLayers() {
		refs.blobs[d] = true
	}
}

// removeChildren removes the entries of dir that doom selects and returns
// how many and how many bytes.
func removeChildren(dir string, doom func(name string) bool) (int, int64) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0
	}
	var n int
	var bytes int64
	for _, e := range entries {
		if !doom(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		bytes += diskUsage(p)
		if os.RemoveAll(p) == nil {
			n++
		}
	}
	return n, bytes
}

func diskUsage(p string) int64 {
	var total int64
	filepath.Walk(p, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	return total
}
