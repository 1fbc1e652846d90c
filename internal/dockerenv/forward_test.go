package dockerenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An HTTP server on a unix socket stands for the engine's socket in the VM
// (the VM tests use the real one): WaitEngine waits for its /_ping, and
// the job's socket forwards requests to it.
func TestForwardAndWait(t *testing.T) {
	dir := t.TempDir()
	engineSock := filepath.Join(dir, "engine.sock")
	dial := func() (net.Conn, error) { return net.Dial("unix", engineSock) }
	ctx := context.Background()
	if err := WaitEngine(ctx, dial, 1500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "did not answer within") {
		t.Fatalf("no engine: %v", err)
	}
	fakeEngine(t, engineSock)
	if err := WaitEngine(ctx, dial, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(dir, "job")
	os.Mkdir(job, 0o700)
	jl, err := Listen(job)
	if err != nil {
		t.Fatal(err)
	}
	defer jl.Close()
	go Serve(jl, dial)
	if st, _ := os.Stat(SocketDir(job)); st.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %v, want 0700", st.Mode().Perm())
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return net.Dial("unix", SocketPath(job))
	}}}
	resp, err := hc.Get("http://docker/version")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "OK /version" {
		t.Errorf("through the job's socket: %q", b)
	}
}

// fakeEngine serves HTTP on the unix socket path, answering "OK PATH", until
// the test ends.
func fakeEngine(t *testing.T, path string) {
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "OK "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}
