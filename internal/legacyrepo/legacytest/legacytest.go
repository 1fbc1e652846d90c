// Package legacytest writes repositories in the original pcocc's format
// (see internal/legacyrepo) for tests, from the format's description alone:
// no copy of the original tool is needed.
package legacytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Repo is a repository being written.
type Repo struct {
	Dir     string
	Version int // 1 or 2
}

// Create lays out an empty repository as the original's first use does.
func Create(dir string, version int) (*Repo, error) {
	for _, d := range []string{"", "data", "meta", ".tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	cfg := fmt.Sprintf("version: %d\n", version)
	if err := os.WriteFile(filepath.Join(dir, ".config"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	return &Repo{Dir: dir, Version: version}, nil
}

// AddBlob stores data as a blob (mode 0444) and returns its sha256 in hex.
func (r *Repo) AddBlob(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	p := filepath.Join(r.Dir, "data", h[:2], h)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err == nil {
		return h, nil
	}
	if err := os.WriteFile(p, data, 0o444); err != nil {
		return "", err
	}
	return h, os.Chmod(p, 0o444)
}

// RecordPath is where the record of name@rev is written.
func (r *Repo) RecordPath(name string, rev int) string {
	if r.Version >= 2 {
		return filepath.Join(r.Dir, "meta", name+"@"+strconv.Itoa(rev))
	}
	sum := sha256.Sum256([]byte(name + "\n" + strconv.Itoa(rev)))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(r.Dir, "meta", h[:2], h)
}

// PutRecord writes the record of name@rev with the keys the original writes.
func (r *Repo) PutRecord(name string, rev int, kind string, blobs []string, custom map[string]any) error {
	if custom == nil {
		custom = map[string]any{}
	}
	rec := map[string]any{"name": name, "revision": rev, "kind": kind, "owner": "someone",
		"timestamp": 1700000000.25 + float64(rev), "data_blobs": blobs, "custom_meta": custom}
	var data []byte
	var err error
	if r.Version >= 2 {
		data, err = json.Marshal(rec)
	} else {
		data, err = yaml.Marshal(rec)
	}
	if err != nil {
		return err
	}
	p := r.RecordPath(name, rev)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// AddOCIImage stores the image tagged tag in the OCI layout at layout as
// the original's import does (skopeo to an OCI layout tagged "latest", then
// every blob into data/) and writes its record, revision 0.
func (r *Repo) AddOCIImage(name, layout, tag string) error {
	raw, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		return err
	}
	var idx struct {
		Manifests []map[string]any `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return err
	}
	for _, m := range idx.Manifests {
		ann, _ := m["annotations"].(map[string]any)
		if ann["org.opencontainers.image.ref.name"] != tag {
			continue
		}
		ann["org.opencontainers.image.ref.name"] = "latest"
		blobs, err := r.copyImageBlobs(layout, m["digest"].(string))
		if err != nil {
			return err
		}
		index := map[string]any{"schemaVersion": 2, "manifests": []any{m}}
		return r.PutRecord(name, 0, "ctr", blobs, map[string]any{"oci_index": index})
	}
	return fmt.Errorf("%s: no image tagged %q", layout, tag)
}

// copyImageBlobs stores a manifest and the blobs it names, and returns
// their digests as the original lists them ("sha256:HEX").
func (r *Repo) copyImageBlobs(layout, manifest string) ([]string, error) {
	read := func(d string) ([]byte, error) {
		return os.ReadFile(filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	}
	m, err := read(manifest)
	if err != nil {
		return nil, err
	}
	var man struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	if err := json.Unmarshal(m, &man); err != nil {
		return nil, err
	}
	digests := []string{manifest, man.Config.Digest}
	for _, l := range man.Layers {
		digests = append(digests, l.Digest)
	}
	for _, d := range digests {
		data, err := read(d)
		if err != nil {
			return nil, err
		}
		if _, err := r.AddBlob(data); err != nil {
			return nil, err
		}
	}
	return digests, nil
}

// AddVM writes a VM image with revs revisions: revision N is a chain of N+1
// layers, each naming the previous one as its backing file by the relative
// path the original uses (../../data/XX/HEX). The layers are qcow2 headers
// only: enough to list the image, not to boot it.
func (r *Repo) AddVM(name string, revs int) error {
	var chain []string
	for rev := range revs {
		backing := ""
		if len(chain) > 0 {
			prev := chain[len(chain)-1]
			backing = "../../data/" + prev[:2] + "/" + prev
		}
		h, err := r.AddBlob(qcow2Header(backing, rev))
		if err != nil {
			return err
		}
		chain = append(chain, h)
		if err := r.PutRecord(name, rev, "vm", append([]string(nil), chain...), nil); err != nil {
			return err
		}
	}
	return nil
}

// qcow2Header is a qcow2 version 3 header with a backing file name.
func qcow2Header(backing string, salt int) []byte {
	b := make([]byte, 112+len(backing)+8)
	copy(b, "QFI\xfb")
	b[7] = 3 // version
	if backing != "" {
		off := 112
		b[15] = byte(off) // backing_file_offset (big endian, low byte)
		b[19] = byte(len(backing))
		copy(b[off:], backing)
	}
	b[len(b)-1] = byte(salt) // different layers, different hashes
	return b
}

// GC removes the blobs no record lists, as the original's 'repo gc' does
// (a blob is kept when its file name is listed, with or without "sha256:").
func (r *Repo) GC() (removed int, err error) {
	records, err := filepath.Glob(filepath.Join(r.Dir, "meta", "*"))
	if err != nil {
		return 0, err
	}
	if r.Version < 2 {
		records, _ = filepath.Glob(filepath.Join(r.Dir, "meta", "*", "*"))
	}
	inUse := map[string]bool{}
	for _, p := range records {
		data, err := os.ReadFile(p)
		if err != nil {
			return 0, err
		}
		var rec struct {
			DataBlobs []string `json:"data_blobs" yaml:"data_blobs"`
		}
		if r.Version >= 2 {
			err = json.Unmarshal(data, &rec)
		} else {
			err = yaml.Unmarshal(data, &rec)
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		for _, b := range rec.DataBlobs {
			inUse[strings.TrimPrefix(b, "sha256:")] = true
		}
	}
	blobs, _ := filepath.Glob(filepath.Join(r.Dir, "data", "*", "*"))
	for _, b := range blobs {
		if !inUse[filepath.Base(b)] {
			if err := os.Remove(b); err != nil {
				return removed, err
			}
			removed++
		}
	}
	return removed, nil
}
