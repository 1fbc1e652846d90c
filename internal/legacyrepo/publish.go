package legacyrepo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

// PublishSquashfs stores sqfs as a blob and records it in the image's
// record: data_blobs gains it (and loses the squashfs of an earlier
// rebuild), custom_meta.pcocc_squashfs describes it. The blob is in place
// before the record names it, and the record is replaced by rename(2), so an
// interruption leaves at worst a blob no record lists, which the original's
// 'repo gc' removes.
func (s *store) PublishSquashfs(img *repo.Image, meta *imagemeta.Meta, sqfs string) error {
	rev, err := strconv.Atoi(img.Revision)
	if err != nil {
		return fmt.Errorf("recording the squashfs of %s: bad revision %q", img.QualifiedName(), img.Revision)
	}
	p := s.recordPath(img.Name, rev)
	before, seen := s.read[p]
	rec, err := s.readRecord(p)
	if err != nil {
		return fmt.Errorf("recording the squashfs of %s: %w", img.QualifiedName(), err)
	}
	if !seen || !bytes.Equal(s.read[p], before) {
		return fmt.Errorf("%s changed during the rebuild: run the rebuild again", p)
	}
	d, size, err := s.putBlob(sqfs)
	if err != nil {
		return fmt.Errorf("storing the squashfs of %s: %w", img.QualifiedName(), err)
	}
	comp := ""
	if meta.Squashfs != nil {
		comp = meta.Squashfs.Compression
	}
	if err := rec.setSquashfs(builtSquashfs{Digest: d, Size: size, Compression: comp, Manifest: meta.Origin.Digest}); err != nil {
		return err
	}
	data, err := rec.marshal(s.version)
	if err != nil {
		return err
	}
	return replaceFile(p, data, filepath.Dir(sqfs))
}

// setSquashfs records b in the record's data_blobs and custom_meta.
func (r *Record) setSquashfs(b builtSquashfs) error {
	var old builtSquashfs
	if raw, ok := r.CustomMeta[squashfsKey]; ok {
		json.Unmarshal(raw, &old)
	}
	blobs := []string{}
	for _, d := range r.DataBlobs {
		if d != string(old.Digest) || old.Digest == "" {
			blobs = append(blobs, d)
		}
	}
	r.DataBlobs = append(blobs, string(b.Digest))
	if r.CustomMeta == nil {
		r.CustomMeta = map[string]json.RawMessage{}
	}
	var err error
	if r.CustomMeta[squashfsKey], err = json.Marshal(b); err != nil {
		return err
	}
	if r.Raw["data_blobs"], err = json.Marshal(r.DataBlobs); err != nil {
		return err
	}
	r.Raw["custom_meta"], err = json.Marshal(r.CustomMeta)
	return err
}

// putBlob moves the file at src (under .tmp, on the repository's file
// system) into data/ under its sha256, mode 0444 as the original stores
// blobs, and returns its "sha256:HEX" digest and size.
func (s *store) putBlob(src string) (digest.Digest, int64, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	h := digest.NewHasher()
	size, err := io.Copy(h, f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return "", 0, err
	}
	d := h.Digest()
	dst, _ := s.BlobPath(d)
	if _, err := os.Stat(dst); err == nil {
		return d, size, nil // the same bytes are there already
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, err
	}
	if err := os.Chmod(src, 0o444); err != nil {
		return "", 0, err
	}
	if err := os.Rename(src, dst); err != nil {
		return "", 0, err
	}
	return d, size, syncDir(filepath.Dir(dst))
}

// replaceFile replaces p with data atomically, keeping p's mode; the new
// file is written in tmpDir first.
func replaceFile(p string, data []byte, tmpDir string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(tmpDir, "record-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(fi.Mode().Perm())
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("rewriting %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
