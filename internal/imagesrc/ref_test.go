package imagesrc

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr error
	}{
		{"docker-archive:my.tar", Ref{DockerArchive, "my.tar", ""}, nil},
		{"docker-archive:my.tar:repo/name:tag", Ref{DockerArchive, "my.tar", "repo/name:tag"}, nil},
		{"docker-archive:///abs/my.tar:name", Ref{DockerArchive, "/abs/my.tar", "name"}, nil},
		{"docker-archive://rel/my.tar", Ref{DockerArchive, "rel/my.tar", ""}, nil},
		{"docker-archive:/abs/x.tar:@1", Ref{DockerArchive, "/abs/x.tar", "@1"}, nil},
		{"oci:dir", Ref{OCI, "dir", ""}, nil},
		{"oci:dir:v1.0", Ref{OCI, "dir", "v1.0"}, nil},
		{"oci:///srv/layout:latest", Ref{OCI, "/srv/layout", "latest"}, nil},
		{"oci-archive:x.tar:tag", Ref{OCIArchive, "x.tar", "tag"}, nil},
		{"docker-daemon:busybox:1.36", Ref{DockerDaemon, "", "busybox:1.36"}, nil},
		{"docker://docker.io/library/busybox:latest", Ref{Docker, "", "docker.io/library/busybox:latest"}, nil},
		{"sif:/path/to/img:1.sif", Ref{SIF, "/path/to/img:1.sif", ""}, nil},
		{"my.tar", Ref{}, ErrNoTransport},
		{"tarball:my.tar", Ref{}, ErrUnknownTransport},
		{"docker-archive:", Ref{}, ErrBadRef},
		{"docker-archive:x.tar:", Ref{}, ErrBadRef},
		{"oci:", Ref{}, ErrBadRef},
		{"oci://", Ref{}, ErrBadRef},
		{"docker-daemon:", Ref{}, ErrBadRef},
		{"docker:busybox", Ref{}, ErrBadRef}, // not silently a registry pull
		{"docker:", Ref{}, ErrBadRef},
		{"docker-archive:a\nb", Ref{}, ErrBadRef},
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
	for _, tr := range Transports() {
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
