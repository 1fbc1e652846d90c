package importer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/testutil"
	"github.com/pcocc/pcocc/internal/transport"
)

type entry struct {
	typ        byte
	name, link string
	body       string
}

func layer(t *testing.T, ents ...entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// ociLayout writes an OCI layout of blobs (stored as given) with these diff
// IDs, and returns its reference.
func makeOCI(t *testing.T, blobs [][]byte, diffIDs []string) string {
	return makeOCIConfig(t, nil, blobs, diffIDs)
}

// makeOCIConfig is makeOCI with this run-time configuration.
func makeOCIConfig(t *testing.T, config map[string]any, blobs [][]byte, diffIDs []string) string {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "blobs/sha256"), 0o755)
	put := func(b []byte) digest.Digest {
		d := sha(b)
		os.WriteFile(filepath.Join(dir, "blobs/sha256", d.Hex()), b, 0o644)
		return d
	}
	cfg, _ := json.Marshal(map[string]any{"config": config, "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	var layers []map[string]any
	for _, b := range blobs {
		layers = append(layers, map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
			"digest": put(b), "size": len(b)})
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
		"layers": layers})
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []any{map[string]any{
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(m), "size": len(m)}}})
	os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644)
	os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	return "oci:" + dir
}

func TestImportHostile(t *testing.T) {
	testutil.Need(t, "tar2sqfs")
	good := layer(t, entry{typ: tar.TypeReg, name: "ok", body: "fine"})
	bad := func(e entry) string { l := layer(t, e); return makeOCI(t, [][]byte{good, gz(l)}, ids(good, l)) }
	full := gz(layer(t, entry{typ: tar.TypeReg, name: "big", body: strings.Repeat("data ", 20000)}))
	plain := layer(t, entry{typ: tar.TypeReg, name: "big", body: strings.Repeat("data ", 20000)})
	tests := []struct {
		name string
		ref  string
		want string
	}{
		{"dot dot", bad(entry{typ: tar.TypeReg, name: "../../etc/passwd"}), `entry "../../etc/passwd": name with a '..' component`},
		{"absolute", bad(entry{typ: tar.TypeReg, name: "/etc/passwd"}), `entry "/etc/passwd": absolute name`},
		{"symlink escape", bad(entry{typ: tar.TypeSymlink, name: "a/l", link: "../../../etc"}), `entry "a/l": link target outside the root`},
		{"hard link escape", bad(entry{typ: tar.TypeLink, name: "l", link: "../../etc/shadow"}), `entry "l": link target outside the root`},
		{"dangling hard link", bad(entry{typ: tar.TypeLink, name: "l", link: "nope"}), `hard link to "nope": target is not in the image`},
		{"truncated gzip", makeOCI(t, [][]byte{full[:len(full)-100]}, ids(plain)), "truncated or corrupt layer: unexpected EOF"},
		{"wrong diff ID", makeOCI(t, [][]byte{gz(good)}, ids(plain)), "does not match its diff ID"},
		{"not a tar layer", makeOCI(t, [][]byte{gz([]byte(strings.Repeat("junk", 1000)))}, ids([]byte(strings.Repeat("junk", 1000)))), "reading layer 1/1 (sha256:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := newDirSink(t)
			_, err := importRef(t, tc.ref, sink)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line with %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), "layer ") {
				t.Errorf("error %q does not name the layer", err)
			}
			noFile(t, sink.sqfs)
			sink.blobs(t) // no temporary blob left
		})
	}
}

func ids(layers ...[]byte) []string {
	var out []string
	for _, l := range layers {
		out = append(out, string(sha(l)))
	}
	return out
}

// TestImportDigestMismatch serves a layer whose bytes are not those its
// digest names: the import fails naming it and stores nothing under it.
func TestImportDigestMismatch(t *testing.T) {
	testutil.Need(t, "tar2sqfs")
	l := layer(t, entry{typ: tar.TypeReg, name: "a", body: "a"})
	other := layer(t, entry{typ: tar.TypeReg, name: "b", body: "b"})
	ref := makeOCI(t, [][]byte{l}, ids(l))
	r, _ := transport.ParseRef(ref)
	src, err := transport.Open(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	img := src.(imagesrc.Layered)
	// Replace the blob after Open, as a source changing under us would.
	p := filepath.Join(r.Path, "blobs/sha256", img.Layers()[0].Digest.Hex())
	if err := os.WriteFile(p, other, 0o644); err != nil {
		t.Fatal(err)
	}
	sink := newDirSink(t)
	_, err = Import(context.Background(), img, sink, Options{})
	want := "layer 1/1 (" + img.Layers()[0].Digest.Short() + "): blob does not match its digest " + img.Layers()[0].Digest.String()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	noFile(t, sink.sqfs)
	noFile(t, sink.path(img.Layers()[0].Digest))
}

// An image whose configuration is over imagemeta's bounds (one that could
// never run) is refused before anything is stored.
func TestImportConfigBounds(t *testing.T) {
	testutil.Need(t, "tar2sqfs")
	l := layer(t, entry{typ: tar.TypeReg, name: "a", body: "a"})
	env := []string{"BIG=" + strings.Repeat("x", 200000)}
	sink := newDirSink(t)
	_, err := importRef(t, makeOCIConfig(t, map[string]any{"Env": env}, [][]byte{l}, ids(l)), sink)
	if err == nil || !strings.Contains(err.Error(), "an entry of the environment is 200004 bytes long") {
		t.Fatalf("error %v", err)
	}
	noFile(t, sink.sqfs)
	if b := sink.blobs(t); len(b) != 0 {
		t.Errorf("blobs stored: %v", b)
	}
}
