package transport

import (
	"errors"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagesrc"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    imagesrc.Ref
		wantErr error
	}{
		{"docker-archive:my.tar", ref(DockerArchive, "my.tar", ""), nil},
		{"docker-archive:my.tar:repo/name:tag", ref(DockerArchive, "my.tar", "repo/name:tag"), nil},
		{"docker-archive:///abs/my.tar:name", ref(DockerArchive, "/abs/my.tar", "name"), nil},
		{"docker-archive://rel/my.tar", ref(DockerArchive, "rel/my.tar", ""), nil},
		{"docker-archive:/abs/x.tar:@1", ref(DockerArchive, "/abs/x.tar", "@1"), nil},
		{"oci:dir", ref(OCI, "dir", ""), nil},
		{"oci:dir:v1.0", ref(OCI, "dir", "v1.0"), nil},
		{"oci:///srv/layout:latest", ref(OCI, "/srv/layout", "latest"), nil},
		{"oci-archive:x.tar:tag", ref(OCIArchive, "x.tar", "tag"), nil},
		{"docker-daemon:busybox:1.36", ref(DockerDaemon, "", "busybox:1.36"), nil},
		{"docker://docker.io/library/busybox:latest", ref(Docker, "", "docker.io/library/busybox:latest"), nil},
		{"sif:/path/to/img:1.sif", ref(SIF, "/path/to/img:1.sif", ""), nil},
		{"my.tar", imagesrc.Ref{}, imagesrc.ErrNoTransport},
		{"tarball:my.tar", imagesrc.Ref{}, imagesrc.ErrUnknownTransport},
		{"docker-archive:", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"docker-archive:x.tar:", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"oci:", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"oci://", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"docker-daemon:", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"docker:busybox", imagesrc.Ref{}, imagesrc.ErrBadRef}, // not silently a registry pull
		{"docker:", imagesrc.Ref{}, imagesrc.ErrBadRef},
		{"docker-archive:a\nb", imagesrc.Ref{}, imagesrc.ErrBadRef},
	}
	for _, tc := range tests {
		got, err := ParseRef(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("ParseRef(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseRef(%q): multi-line error", tc.in)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRefUnknownListsKnown(t *testing.T) {
	_, err := ParseRef("foo:bar")
	for _, tr := range Names() {
		if !strings.Contains(err.Error(), tr) {
			t.Errorf("error %q does not list %q", err, tr)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"docker-archive:a.tar:b/c:d", "oci:///x:y", "sif:z", "docker-daemon:a:b", "x", ":", "oci::", "docker-archive:////a", "docker-daemon:////a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q", s)
			}
			return
		}
		if !isKnown(r.Transport) || r.Path == "" && r.Ref == "" {
			t.Fatalf("ParseRef(%q) = %+v", s, r)
		}
		// Round trip: what String prints parses to the same Ref.
		back, err := ParseRef(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRef(%q) = %+v; String %q parses to %+v, %v", s, r, r.String(), back, err)
		}
	})
}

func isKnown(name string) bool {
	_, ok := Lookup(name)
	return ok
}
