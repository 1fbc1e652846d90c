package check

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
)

// closedPort is a loopback port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// batchConfig loads a configuration whose system directory holds only this
// batch.yaml.
func batchConfig(t *testing.T, batch string) *config.Config {
	t.Helper()
	sys, user := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(sys, "batch.yaml"), []byte(batch), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs := config.Dirs{System: sys, User: user, UserRepo: filepath.Join(user, "images")}
	return config.Load(dirs, func(string) string { return "" })
}

func TestEtcd(t *testing.T) {
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"health":"true","reason":""}`)
	}))
	defer healthy.Close()
	_, hport, _ := net.SplitHostPort(strings.TrimPrefix(healthy.URL, "http://"))
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"health":"false","reason":"NOSPACE"}`)
	}))
	defer sick.Close()
	_, sport, _ := net.SplitHostPort(strings.TrimPrefix(sick.URL, "http://"))
	slurm := func(servers, port string) string {
		return "type: slurm\nsettings:\n  etcd-servers: [" + servers + "]\n  etcd-client-port: " + port + "\n"
	}
	cases := []struct {
		name, batch string
		want        Status // "": no result
		detail      string
	}{
		{"local batch manager", "type: local\n", "", ""},
		{"healthy", slurm("127.0.0.1", hport), OK, "http://127.0.0.1:" + hport + "/health is healthy"},
		{"second server answers", slurm("127.0.0.2, 127.0.0.1", hport), OK, "http://127.0.0.1:" + hport + "/health"},
		{"nothing listens", slurm("127.0.0.1", closedPort(t)), Error, "connection refused"},
		{"unhealthy", slurm("127.0.0.1", sport), Error, "503 Service Unavailable"},
		{"no servers", "type: slurm\n", Error, "lists no etcd-servers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &Env{Config: batchConfig(t, tc.batch)}
			if err := e.Config.Err(config.KindBatch); err != nil {
				t.Fatalf("batch.yaml: %v", err)
			}
			rs := Etcd(context.Background(), e)
			if tc.want == "" {
				if len(rs) != 0 {
					t.Fatalf("got %v, want no result", rs)
				}
				return
			}
			if len(rs) != 1 || rs[0].Item != "etcd" || rs[0].Status != tc.want || !strings.Contains(rs[0].Detail, tc.detail) {
				t.Fatalf("got %+v, want one etcd item, %s, detail with %q", rs, tc.want, tc.detail)
			}
			if tc.want != OK && rs[0].Fix == "" {
				t.Error("an error without a fix")
			}
		})
	}
}
