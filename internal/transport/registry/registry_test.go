package registry

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
	"github.com/pcocc/pcocc/internal/mediatype"
	"github.com/pcocc/pcocc/internal/regclient"
	"github.com/pcocc/pcocc/internal/testutil"
	"github.com/pcocc/pcocc/internal/transport/ocilayout"
)

// startRegistry runs the Debian docker-registry on a free loopback port
// and returns its address.
func startRegistry(t *testing.T) string {
	t.Helper()
	testutil.Need(t, "docker-registry", "skopeo")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.yml")
	os.WriteFile(conf, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", dir, addr)), 0o644)
	cmd := exec.Command("docker-registry", "serve", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not listen on %s", addr)
	return ""
}

// TestRegistry pulls the fixture from a real registry, pushed there by
// skopeo as a Docker v2 manifest and as OCI, and compares it with the
// image read from the OCI layout.
func TestRegistry(t *testing.T) {
	addr := startRegistry(t)
	f := imagesrctest.Build(t)
	img, err := ocilayout.OpenDir(context.Background(), imagesrc.Ref{Transport: ocilayout.DirName, Form: imagesrc.DirRef, Path: f.Layout, Ref: f.Tag})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	local := img.(imagesrc.Layered)
	for _, format := range []string{"v2s2", "oci"} {
		t.Run(format, func(t *testing.T) {
			dest := "docker://" + addr + "/probe/multi:" + format
			if b, err := exec.Command("skopeo", "copy", "-q", "--dest-tls-verify=false", "--format", format,
				"oci:"+f.Layout+":"+f.Tag, dest).CombinedOutput(); err != nil {
				t.Fatalf("skopeo: %v\n%s", err, b)
			}
			src, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.URLName, Ref: addr + "/probe/multi:" + format})
			if err != nil {
				t.Fatal(err)
			}
			sp := &imagesrctest.DirSpool{Dir: t.TempDir()}
			img, err := src.(imagesrc.Streamed).Fetch(context.Background(), sp)
			if err != nil {
				t.Fatal(err)
			}
			imagesrctest.CheckImage(t, img)
			if sp.Puts() != len(img.Layers()) || len(img.Layers()) != len(local.Layers()) {
				t.Fatalf("%d layers, %d spooled; the layout has %d", len(img.Layers()), sp.Puts(), len(local.Layers()))
			}
			for i := range img.Layers() {
				if img.Layers()[i].DiffID != local.Layers()[i].DiffID {
					t.Errorf("layer %d: diff ID %s, the layout's %s", i, img.Layers()[i].DiffID, local.Layers()[i].DiffID)
				}
			}
			if diff := cmp.Diff(local.Config(), img.Config()); diff != "" {
				t.Errorf("config (-layout +registry):\n%s", diff)
			}
		})
	}
}

// fakeRegistry serves one image per repository, each with a fault, behind
// a token service that wants user:secret. It exists for the token flow and
// fault injection only; TestRegistry uses the real registry.
type fakeRegistry struct {
	*httptest.Server
	layer, config, manifest []byte
	mu                      sync.Mutex
	blobGets                map[string]int
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	noise := make([]byte, 256<<10)
	rand.NewChaCha8([32]byte{2}).Read(noise) // incompressible: the cut falls inside the data
	plain := imagesrctest.TarOf(t, map[string][]byte{"etc/hello": []byte("hello\n"), "data/noise": noise})
	zw.Write(plain)
	zw.Close()
	f := &fakeRegistry{layer: gz.Bytes(), blobGets: map[string]int{}}
	f.config, _ = json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"A=1"}}, "rootfs": map[string]any{"type": "layers", "diff_ids": []digest.Digest{imagesrctest.Sha(plain)}}})
	f.manifest = f.manifestWith("application/vnd.docker.image.rootfs.diff.tar.gzip")
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeRegistry) manifestWith(layerType string) []byte {
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediatype.DockerManifest,
		"config": map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "digest": imagesrctest.Sha(f.config), "size": len(f.config)},
		"layers": []map[string]any{{"mediaType": layerType, "digest": imagesrctest.Sha(f.layer), "size": len(f.layer)}}})
	return m
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"token":"tok"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="fake",scope="repository:x:pull"`, f.URL))
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	switch {
	case repo == "deny":
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
	case repo == "missing" || strings.HasSuffix(r.URL.Path, "/manifests/nope"):
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
	case strings.Contains(r.URL.Path, "/manifests/"):
		f.serveManifest(w, repo)
	case strings.HasSuffix(r.URL.Path, "/blobs/"+imagesrctest.Sha(f.config).String()):
		w.Write(f.config)
	case strings.HasSuffix(r.URL.Path, "/blobs/"+imagesrctest.Sha(f.layer).String()):
		f.serveLayer(w, r, repo)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (f *fakeRegistry) serveManifest(w http.ResponseWriter, repo string) {
	m := f.manifest
	w.Header().Set("Content-Type", mediatype.DockerManifest)
	switch repo {
	case "badsum":
		w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
	case "badtype":
		m = f.manifestWith("application/vnd.example.layer.v1+squashfs")
	case "schema1":
		m = []byte(`{"schemaVersion":1,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}`)
	}
	w.Write(m)
}

// serveLayer cuts the download in the middle: once for "cut", always for
// "cutalways".
func (f *fakeRegistry) serveLayer(w http.ResponseWriter, r *http.Request, repo string) {
	f.mu.Lock()
	f.blobGets[repo]++
	n := f.blobGets[repo]
	f.mu.Unlock()
	body := f.layer
	var off int
	if rg := r.Header.Get("Range"); rg != "" {
		fmt.Sscanf(rg, "bytes=%d-", &off)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(body)-1, len(body)))
		body = body[off:]
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if off > 0 {
		w.WriteHeader(http.StatusPartialContent)
	}
	if repo == "cutalways" || repo == "cut" && n == 1 {
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection is cut
	}
	w.Write(body)
}

// dockerConfigFor writes a config.json with user:secret for the server.
func dockerConfigFor(t *testing.T, host string) {
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("user:secret"))
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"`+host+`":{"auth":"`+auth+`"}}}`), 0o600)
	t.Setenv("DOCKER_CONFIG", dir)
}

func pull(t *testing.T, f *fakeRegistry, repo string) (*imagesrctest.DirSpool, error) {
	t.Helper()
	host := strings.TrimPrefix(f.URL, "http://")
	src, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.URLName, Ref: host + "/" + repo})
	if err != nil {
		return nil, err
	}
	sp := &imagesrctest.DirSpool{Dir: t.TempDir()}
	img, err := src.(imagesrc.Streamed).Fetch(context.Background(), sp)
	if err != nil {
		return sp, err
	}
	imagesrctest.CheckImage(t, img)
	return sp, nil
}

func TestRegistryFaults(t *testing.T) {
	defer func(d time.Duration) { retryPause = d }(retryPause)
	retryPause = time.Millisecond
	f := newFakeRegistry(t)
	dockerConfigFor(t, strings.TrimPrefix(f.URL, "http://"))
	if _, err := pull(t, f, "ok/img"); err != nil {
		t.Fatalf("token flow: %v", err)
	}
	if _, err := pull(t, f, "cut/img"); err != nil || f.blobGets["cut"] != 2 {
		t.Fatalf("a layer cut once: %v after %d requests, want a resumed download", err, f.blobGets["cut"])
	}
	tests := []struct {
		repo string
		is   error
		want string
	}{
		{"deny/img", regclient.ErrDenied, "access denied (HTTP 403): denied: requested access to the resource is denied"},
		{"missing/img", regclient.ErrNotFound, "not found (HTTP 404): manifest_unknown"},
		{"ok/img:nope", regclient.ErrNotFound, "manifest ok/img:nope"},
		{"badsum/img", nil, "does not match its digest"},
		{"ok/img@sha256:" + strings.Repeat("1", 64), nil, "does not match its digest"},
		{"cutalways/img", nil, "after 4 tries: unexpected EOF"},
		{"badtype/img", nil, `unsupported media type "application/vnd.example.layer.v1+squashfs"`},
		{"schema1/img", nil, `unsupported media type "application/vnd.docker.distribution.manifest.v1+prettyjws"`},
	}
	for _, tt := range tests {
		t.Run(tt.repo, func(t *testing.T) {
			_, err := pull(t, f, tt.repo)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) ||
				strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v: want one line with %q", err, tt.want)
			}
			t.Log(err)
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		_, err := pull(t, f, "ok/img")
		if !errors.Is(err, regclient.ErrUnauthorized) || !strings.Contains(err.Error(), "no credentials") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		_, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.URLName, Ref: addr + "/img"})
		if err == nil || !strings.Contains(err.Error(), "cannot reach registry "+addr) {
			t.Errorf("error %v", err)
		}
	})
}

// A malformed name is imagesrc.ErrBadRef (and regclient's), in one line.
func TestOpenBadName(t *testing.T) {
	for _, name := range []string{"img@sha256:xyz", "img:bad tag"} {
		_, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.URLName, Ref: name})
		if !errors.Is(err, imagesrc.ErrBadRef) || !errors.Is(err, regclient.ErrBadRef) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line matching ErrBadRef", name, err)
		}
	}
}
