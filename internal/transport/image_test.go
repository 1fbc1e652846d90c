package transport

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
	"github.com/pcocc/pcocc/internal/transport/dockerarchive"
)

func TestOpenFixture(t *testing.T) {
	f := imagesrctest.Build(t)
	refs := []string{
		"oci:" + f.Layout + ":" + f.Tag,
		"oci://" + f.Layout + ":" + f.Tag,
		"oci-archive:" + f.OCIArchive,
		"oci-archive:" + f.OCIArchive + ":multi",
		"docker-archive:" + f.DockerArchive,
		"docker-archive:" + f.DockerArchive + ":probe/multi:1",
		"docker-archive:" + f.DockerArchive + ":docker.io/probe/multi:1",
		"docker-archive:" + f.DockerArchive + ":@0",
	}
	for _, s := range refs {
		t.Run(s, func(t *testing.T) {
			ref, err := ParseRef(s)
			if err != nil {
				t.Fatal(err)
			}
			img, err := openLayered(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if len(img.Layers()) != 3 {
				t.Fatalf("%d layers, want 3", len(img.Layers()))
			}
			c := img.Config()
			if strings.Join(c.Entrypoint, " ") != "/bin/sh -c" || strings.Join(c.Cmd, " ") != "cat /opt/app/file" ||
				c.WorkingDir != "/opt" || c.User != "1000:1000" || c.Labels["org.test"] != "yes" ||
				!strings.Contains(strings.Join(c.Env, " "), "FOO=bar") {
				t.Errorf("config %+v", c)
			}
			imagesrctest.CheckImage(t, img)
		})
	}
}

// dockerArchive writes a docker-archive from files and returns its path.
func dockerArchive(t *testing.T, files map[string]string, symlinks map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644})
		io.WriteString(tw, body)
	}
	for name, target := range symlinks {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func layerTar(t *testing.T, name, body string) string {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644})
	io.WriteString(tw, body)
	tw.Close()
	return buf.String()
}

func configJSON(diffIDs ...digest.Digest) string {
	b, _ := json.Marshal(map[string]any{
		"config": map[string]any{"Env": []string{"A=1"}, "Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	return string(b)
}

func manifestJSON(ms ...dockerarchive.Manifest) string {
	b, _ := json.Marshal(ms)
	return string(b)
}

func hexOf(d digest.Digest) string { return d.Hex() }

func TestDockerArchiveLayouts(t *testing.T) {
	layer := layerTar(t, "hello", "world")
	ld := imagesrctest.Sha([]byte(layer))
	cfg := configJSON(ld)
	cd := imagesrctest.Sha([]byte(cfg))
	id := strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		files    map[string]string
		symlinks map[string]string
	}{
		{"docker <id>/layer.tar", map[string]string{
			"manifest.json":     manifestJSON(dockerarchive.Manifest{Config: hexOf(cd) + ".json", RepoTags: []string{"x:1"}, Layers: []string{id + "/layer.tar"}}),
			hexOf(cd) + ".json": cfg,
			id + "/layer.tar":   layer,
		}, nil},
		{"podman <digest>.tar and symlink", map[string]string{
			"manifest.json":     manifestJSON(dockerarchive.Manifest{Config: hexOf(cd) + ".json", RepoTags: []string{"x:1"}, Layers: []string{hexOf(ld) + ".tar"}}),
			hexOf(cd) + ".json": cfg,
			hexOf(ld) + ".tar":  layer,
		}, map[string]string{id + "/layer.tar": "../" + hexOf(ld) + ".tar"}},
		{"manifest naming the symlink", map[string]string{
			"manifest.json":     manifestJSON(dockerarchive.Manifest{Config: hexOf(cd) + ".json", Layers: []string{id + "/layer.tar"}}),
			hexOf(cd) + ".json": cfg,
			hexOf(ld) + ".tar":  layer,
		}, map[string]string{id + "/layer.tar": "../" + hexOf(ld) + ".tar"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := dockerArchive(t, tc.files, tc.symlinks)
			img, err := openLayered(context.Background(), ref(DockerArchive, p, ""))
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if len(img.Layers()) != 1 || img.Layers()[0].Digest != ld || img.Config().Env[0] != "A=1" || img.Digest() != cd {
				t.Fatalf("image %+v", img)
			}
			imagesrctest.CheckImage(t, img)
		})
	}
}

func TestOpenFaults(t *testing.T) {
	layer := layerTar(t, "hello", "world")
	ld := imagesrctest.Sha([]byte(layer))
	cfg := configJSON(ld)
	cd := imagesrctest.Sha([]byte(cfg))
	m := dockerarchive.Manifest{Config: hexOf(cd) + ".json", RepoTags: []string{"a:1"}, Layers: []string{hexOf(ld) + ".tar"}}
	m2 := m
	m2.RepoTags = []string{"b:2"}
	good := map[string]string{"manifest.json": manifestJSON(m), hexOf(cd) + ".json": cfg, hexOf(ld) + ".tar": layer}
	with := func(k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range good {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	empty := filepath.Join(t.TempDir(), "empty.tar")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(t.TempDir(), "text.tar")
	os.WriteFile(text, bytes.Repeat([]byte("this is not a tar\n"), 100), 0o644)
	tests := []struct {
		name string
		ref  imagesrc.Ref
		want string
	}{
		{"missing layer blob", ref(DockerArchive, dockerArchive(t, with(hexOf(ld)+".tar", ""), nil), ""), "manifest names missing blob"},
		{"missing config blob", ref(DockerArchive, dockerArchive(t, with(hexOf(cd)+".json", ""), nil), ""), "manifest names missing blob"},
		{"config not matching", ref(DockerArchive, dockerArchive(t, with(hexOf(cd)+".json", configJSON(ld, ld)), nil), ""), "does not match its digest"},
		{"no manifest", ref(DockerArchive, dockerArchive(t, with("manifest.json", ""), nil), ""), "not a docker archive"},
		{"two images", ref(DockerArchive, dockerArchive(t, with("manifest.json", manifestJSON(m, m2)), nil), ""), "holds 2 images (a:1, b:2)"},
		{"unknown name", ref(DockerArchive, dockerArchive(t, good, nil), "c:3"), `no image "c:3" in the archive (it holds a:1)`},
		{"empty file", ref(DockerArchive, empty, ""), "is empty"},
		{"not a tar", ref(DockerArchive, text, ""), "is not a tar archive"},
		{"missing file", ref(DockerArchive, "/nonexistent.tar", ""), "no such file"},
		{"not an oci layout", ref(OCI, t.TempDir(), ""), "not an OCI layout"},
		{"oci-archive of a docker archive", ref(OCIArchive, dockerArchive(t, good, nil), ""), "is a docker archive, not an OCI one: use docker-archive:"},
		{"oci of a file", ref(OCI, dockerArchive(t, good, nil), ""), "is a file, not an OCI layout directory: a tar file is oci-archive:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Open(context.Background(), tc.ref)
			if err == nil {
				img.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line containing %q", err, tc.want)
			}
		})
	}
}
