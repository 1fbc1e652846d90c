package imageref

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		in      string
		want    Ref
		wantErr string // substring of the error; "" means success
	}{
		{in: "ubuntu", want: Ref{Name: "ubuntu"}},
		{in: "user:my_docker_image", want: Ref{Repo: "user", Name: "my_docker_image"}},
		{in: "proj-1:openmpi-4.1.4+cuda", want: Ref{Repo: "proj-1", Name: "openmpi-4.1.4+cuda"}},
		{in: "0:9", want: Ref{Repo: "0", Name: "9"}},
		{in: long, want: Ref{Name: long}},
		{in: "old:centos@1", want: Ref{Repo: "old", Name: "centos", Revision: "1"}},
		{in: "centos@007", want: Ref{Name: "centos", Revision: "7"}},
		{in: "centos@", wantErr: `revision "" after '@' is not a number`},
		{in: "centos@-1", wantErr: `revision "-1" after '@'`},
		{in: "centos@1@2", wantErr: `image name "centos@1" contains '@'`},
		{in: "centos@1234567890", wantErr: "is not a number"},
		{in: "", wantErr: "empty image name"},
		{in: "repo:", wantErr: "empty image name"},
		{in: ":img", wantErr: "empty repository name"},
		{in: "a:b:c", wantErr: `image name "b:c" contains ':'`},
		{in: "my.repo:img", wantErr: `repository name "my.repo" contains '.'`},
		{in: "-img", wantErr: `image name "-img" must start with a letter or a digit`},
		{in: ".hidden", wantErr: "must start with a letter or a digit"},
		{in: "_x:img", wantErr: `repository name "_x" must start`},
		{in: "a/b", wantErr: `contains '/'`},
		{in: "a b", wantErr: `contains ' '`},
		{in: "café", wantErr: `contains 'é'`},
		{in: long + "a", wantErr: "longer than 128 characters"},
		{in: strings.Repeat("r", MaxRepoLen+1) + ":x", wantErr: "longer than 64 characters"},
	}
	for _, tc := range tests {
		got, err := Parse(tc.in)
		if tc.wantErr == "" {
			if err != nil || got != tc.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Parse(%q) error = %v; want it to contain %q", tc.in, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", tc.in, err)
		}
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		ref  Ref
		want string
	}{
		{Ref{Name: "img"}, "img"},
		{Ref{Repo: "r", Name: "img"}, "r:img"},
	}
	for _, tc := range tests {
		if got := tc.ref.String(); got != tc.want {
			t.Errorf("%+v.String() = %q; want %q", tc.ref, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"img", "user:img", "a:b:c", ":x", "x:", "my_docker_image", "r:a.b+c-d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if got := r.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		back, err := Parse(r.String())
		if err != nil || back != r {
			t.Fatalf("Parse(%q) = %+v, %v; want %+v", r.String(), back, err, r)
		}
		if strings.Contains(r.Name, ":") || r.Name == "" {
			t.Fatalf("Parse(%q) gave a bad name %q", s, r.Name)
		}
	})
}
