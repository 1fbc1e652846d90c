package regclient

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/digest"
)

func TestParseRegRef(t *testing.T) {
	t.Setenv(EnvDefaultRegistry, "")
	t.Setenv(EnvInsecureRegistries, "mirror.site:5000")
	tests := []struct {
		in   string
		want Ref
	}{
		{"busybox", Ref{registry: "docker.io", host: dockerHubAPI, repo: "library/busybox", tag: "latest"}},
		{"user/img:1.0", Ref{registry: "docker.io", host: dockerHubAPI, repo: "user/img", tag: "1.0"}},
		{"quay.io/org/img@sha256:" + strings.Repeat("a", 64), Ref{registry: "quay.io", host: "quay.io", repo: "org/img", digest: digest.Digest("sha256:" + strings.Repeat("a", 64))}},
		{"localhost:5000/img:t", Ref{registry: "localhost:5000", host: "localhost:5000", repo: "img", tag: "t", insecure: true}},
		{"127.0.0.1:15000/a/b", Ref{registry: "127.0.0.1:15000", host: "127.0.0.1:15000", repo: "a/b", tag: "latest", insecure: true}},
		{"mirror.site:5000/img", Ref{registry: "mirror.site:5000", host: "mirror.site:5000", repo: "img", tag: "latest", insecure: true}},
		{"localhost/img", Ref{registry: "localhost", host: "localhost", repo: "img", tag: "latest", insecure: true}},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Ref{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, diff)
		}
	}
	t.Setenv(EnvDefaultRegistry, "mirror.site:5000")
	if got, _ := ParseRef("img"); got.String() != "mirror.site:5000/img:latest" || !got.insecure {
		t.Errorf("with a default registry: %+v", got)
	}
	for _, bad := range []string{"UPPER/case", "img:bad tag", "img@sha256:short", "a//b"} {
		if _, err := ParseRef(bad); !errors.Is(err, ErrBadRef) {
			t.Errorf("%q: error %v, want ErrBadRef", bad, err)
		}
	}
}
