package legacytest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
)

// Entry is one tar entry of a test layer: a file (Body), a directory (Dir),
// or a hard link (Link names the target).
type Entry struct {
	Name, Body, Link string
	Dir              bool
}

// Tar makes an uncompressed layer.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Body))}
		switch {
		case e.Dir:
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.Link, 0
		}
		tw.WriteHeader(h)
		if h.Size > 0 {
			tw.Write([]byte(e.Body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// WriteLayout writes an OCI layout at dir holding one image tagged tag made
// of layers (uncompressed tars, bottom first), which are stored gzipped as
// skopeo stores them.
func WriteLayout(dir, tag string, layers ...[]byte) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	put := func(b []byte) (string, error) {
		d := digest(b)
		return d, os.WriteFile(filepath.Join(blobs, d[len("sha256:"):]), b, 0o644)
	}
	var diffIDs []string
	var descs []map[string]any
	for _, l := range layers {
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(l)
		w.Close()
		d, err := put(gz.Bytes())
		if err != nil {
			return err
		}
		diffIDs = append(diffIDs, digest(l))
		descs = append(descs, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": gz.Len()})
	}
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}, "Env": []string{"PATH=/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	cd, err := put(cfg)
	if err != nil {
		return err
	}
	man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(cfg)},
		"layers": descs})
	md, err := put(man)
	if err != nil {
		return err
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(man),
		"annotations": map[string]string{"org.opencontainers.image.ref.name": tag}}}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}
