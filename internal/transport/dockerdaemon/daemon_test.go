package dockerdaemon

import (
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/engine"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

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
	l1 := imagesrctest.TarOf(t, map[string][]byte{"data/big": big, "etc/gone": []byte("x"), "bin/keep": []byte("k")})
	l2 := imagesrctest.TarOf(t, map[string][]byte{"etc/.wh.gone": nil, "etc/new": []byte("new\n")})
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"FOO=bar"}, "Cmd": []string{"/bin/keep"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []digest.Digest{imagesrctest.Sha(l1), imagesrctest.Sha(l2)}},
	})
	cfgName := imagesrctest.Sha(cfg).Hex() + ".json"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": []string{"l1/layer.tar", "l2/layer.tar"}}})
	return imagesrctest.TarOf(t, map[string][]byte{"l1/layer.tar": l1, "l2/layer.tar": l2, cfgName: cfg, "manifest.json": manifest})
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
	src, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.NameOnly, Ref: tag})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sp := &imagesrctest.DirSpool{Dir: t.TempDir()}
	img, err := src.(imagesrc.Streamed).Fetch(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if src.Digest() != img.Digest() {
		t.Errorf("digest %s before the fetch, %s after", src.Digest(), img.Digest())
	}
	if len(img.Layers()) != 2 || sp.Puts() != 1 {
		t.Fatalf("%d layers, %d spooled: want 2 layers, the large one spooled", len(img.Layers()), sp.Puts())
	}
	if strings.Join(img.Config().Env, " ") != "FOO=bar" || img.Digest() != img.ConfigDigest() {
		t.Errorf("config %+v, digest %s", img.Config(), img.Digest())
	}
	imagesrctest.CheckImage(t, img)
}

func TestEngineFaults(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	_, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.NameOnly, Ref: "busybox"})
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
	_, err = Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.NameOnly, Ref: "nope:1"})
	if !errors.Is(err, engine.ErrNotFound) || strings.Contains(err.Error(), "\n") {
		t.Errorf("not in engine: %v", err)
	}
}

// The real engine says so when it has no such image.
func TestEngineNoImage(t *testing.T) {
	needEngine(t)
	_, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.NameOnly, Ref: "pcocc-test/no-such-image:0"})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("error %v, want engine.ErrNotFound", err)
	}
}

// slowCloser takes its time to close, as a blob of a repository being
// read would: a generator left running would still be in Close.
type slowCloser struct {
	io.Reader
	open *atomic.Int32
}

func (s slowCloser) Close() error {
	time.Sleep(100 * time.Millisecond)
	s.open.Add(-1)
	return nil
}

// An engine that stops reading early (here after 8 KiB, with an error)
// makes the export fail with its error, and only once the archive
// generator has stopped and closed every blob it opened: its caller
// unlocks the repository next.
func TestStreamToEngineStopsGenerator(t *testing.T) {
	cfg := []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`)
	blob := bytes.Repeat([]byte("layer data "), 100000)
	var open atomic.Int32
	layer := imagesrc.Layer{Digest: imagesrctest.Sha(blob), Size: int64(len(blob)), Open: func() (io.ReadCloser, error) {
		open.Add(1)
		return slowCloser{bytes.NewReader(blob), &open}, nil
	}}
	e := &layout.Writer{Ctx: context.Background(), Img: imagesrc.NewLayered(imagesrc.Parts{ConfigBlob: cfg, ConfigDigest: imagesrctest.Sha(cfg), Layers: []imagesrc.Layer{layer}})}
	refused := errors.New("engine refused the archive")
	err := streamTo(e, "x:1", func(r io.Reader) error {
		io.ReadFull(r, make([]byte, 8192))
		return refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("error %v, want the engine's", err)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d blobs still open when the export returned", n)
	}
}
