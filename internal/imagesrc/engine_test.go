package imagesrc

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/engine"
)

// dirSpool is a Spool keeping blobs as files of a directory.
type dirSpool struct {
	dir  string
	mu   sync.Mutex
	puts int
}

func (s *dirSpool) Expect(int64, int) {}

func (s *dirSpool) Put(r io.Reader, want string) (Spooled, error) {
	f, err := os.CreateTemp(s.dir, "blob")
	if err != nil {
		return Spooled{}, err
	}
	defer f.Close()
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return Spooled{}, err
	}
	if want != "" && string(h.Digest()) != want {
		return Spooled{}, fmt.Errorf("blob does not match its digest %s", want)
	}
	s.mu.Lock()
	s.puts++
	s.mu.Unlock()
	name := f.Name()
	return Spooled{Digest: string(h.Digest()), Size: n, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, nil
}

// needEngine returns a client of the Docker engine at DOCKER_HOST, or
// skips the test when none answers there.
func needEngine(t *testing.T) *engine.Client {
	t.Helper()
	if os.Getenv("DOCKER_HOST") == "" {
		t.Skip("skipping: DOCKER_HOST is not set (scripts/services.sh starts a private dockerd)")
	}
	e, err := engine.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Ping(context.Background()); err != nil {
		t.Skipf("skipping: no Docker engine answers at %s: %v", e.Where(), err)
	}
	return e
}

// testArchive is a docker-archive of a two-layer image: a large layer (it
// goes through the spool) and a small one with a whiteout.
func testArchive(t *testing.T, tag string) []byte {
	big := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{1}).Read(big) // incompressible, deterministic
	l1 := tarOf(t, map[string][]byte{"data/big": big, "etc/gone": []byte("x"), "bin/keep": []byte("k")})
	l2 := tarOf(t, map[string][]byte{"etc/.wh.gone": nil, "etc/new": []byte("new\n")})
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"FOO=bar"}, "Cmd": []string{"/bin/keep"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{sha(l1), sha(l2)}},
	})
	cfgName := strings.TrimPrefix(sha(cfg), "sha256:") + ".json"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": []string{"l1/layer.tar", "l2/layer.tar"}}})
	return tarOf(t, map[string][]byte{"l1/layer.tar": l1, "l2/layer.tar": l2, cfgName: cfg, "manifest.json": manifest})
}

func tarOf(t *testing.T, files map[string][]byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEngine loads an image into the real engine (the export path), then
// reads it back through the streamed export.
func TestEngine(t *testing.T) {
	e := needEngine(t)
	tag := fmt.Sprintf("pcocc-test/engine:%d", time.Now().UnixNano())
	if err := e.Load(context.Background(), bytes.NewReader(testArchive(t, tag))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Remove(context.Background(), tag)
	})
	src, err := Open(context.Background(), Ref{Transport: DockerDaemon, Ref: tag})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sp := &dirSpool{dir: t.TempDir()}
	img, err := src.(Streamed).Fetch(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if src.Digest() != img.Digest() {
		t.Errorf("digest %s before the fetch, %s after", src.Digest(), img.Digest())
	}
	if len(img.Layers()) != 2 || sp.puts != 1 {
		t.Fatalf("%d layers, %d spooled: want 2 layers, the large one spooled", len(img.Layers()), sp.puts)
	}
	if strings.Join(img.Config().Env, " ") != "FOO=bar" || img.Digest() != img.ConfigDigest() {
		t.Errorf("config %+v, digest %s", img.Config(), img.Digest())
	}
	checkImage(t, img)
}

func TestEngineFaults(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	_, err := Open(context.Background(), Ref{Transport: DockerDaemon, Ref: "busybox"})
	if !errors.Is(err, engine.ErrUnreachable) || !strings.Contains(err.Error(), sock) {
		t.Errorf("unreachable: %v", err)
	}
	t.Setenv("DOCKER_HOST", "")
	_, err = engine.New()
	if e, _ := engine.New(); err != nil || !strings.Contains(e.Where(), "/var/run/docker.sock") {
		t.Errorf("default engine: %v", err)
	}
	t.Setenv("DOCKER_HOST", "ssh://host")
	if _, err := engine.New(); err == nil {
		t.Error("ssh:// accepted")
	}
	// An engine that knows no such image.
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "fake.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"No such image: nope:1"}`)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+l.Addr().String())
	_, err = Open(context.Background(), Ref{Transport: DockerDaemon, Ref: "nope:1"})
	if !errors.Is(err, engine.ErrNotFound) || strings.Contains(err.Error(), "\n") {
		t.Errorf("not in engine: %v", err)
	}
}

// The real engine says so when it has no such image.
func TestEngineNoImage(t *testing.T) {
	needEngine(t)
	_, err := Open(context.Background(), Ref{Transport: DockerDaemon, Ref: "pcocc-test/no-such-image:0"})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("error %v, want engine.ErrNotFound", err)
	}
}
