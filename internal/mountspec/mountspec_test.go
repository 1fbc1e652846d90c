package mountspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		in      string
		want    []Mount
		wantErr string
	}{
		{in: "src=/a,dst=/b", want: []Mount{{Source: "/a", Destination: "/b", Type: TypeBind}}},
		{in: "source=/a,destination=/b,readonly", want: []Mount{{Source: "/a", Destination: "/b", Type: TypeBind, ReadOnly: true}}},
		{in: "dst=/b,src=/a,ro", want: []Mount{{Source: "/a", Destination: "/b", Type: TypeBind, ReadOnly: true}}},
		{in: "src=/a,target=/b/,ro=false", want: []Mount{{Source: "/a", Destination: "/b", Type: TypeBind}}},
		{in: "src=/a", want: []Mount{{Source: "/a", Destination: "/a", Type: TypeBind}}},
		{in: "src=data,dst=/data", want: []Mount{{Source: "data", Destination: "/data", Type: TypeBind}}},
		{in: "src=/i.sqfs,dst=/opt/x,type=squashfs", want: []Mount{{Source: "/i.sqfs", Destination: "/opt/x", Type: TypeSquashfs}}},
		{in: "src=/a,dst=/x/../y,optional", want: []Mount{{Source: "/a", Destination: "/y", Type: TypeBind, Optional: true}}},
		{in: "src=/a,dst=/dev/infiniband", want: []Mount{{Source: "/a", Destination: "/dev/infiniband", Type: TypeBind}}},
		{in: "src=/a,dst=/b:src=/c,dst=/d,ro", want: []Mount{
			{Source: "/a", Destination: "/b", Type: TypeBind},
			{Source: "/c", Destination: "/d", Type: TypeBind, ReadOnly: true},
		}},
		{in: "", wantErr: "empty spec"},
		{in: "src=/a,dst=/b:", wantErr: "empty spec"},
		{in: "dst=/b", wantErr: "missing source"},
		{in: "src=,dst=/b", wantErr: "src needs a value"},
		{in: "src=/a,dst", wantErr: "dst needs a value"},
		{in: "src=/a,dst=b", wantErr: "not an absolute path"},
		{in: "data", wantErr: `unknown key "data"`},
		{in: "src=/a,dest=/b", wantErr: `unknown key "dest"`},
		{in: "src=/a,src=/b", wantErr: "src given twice"},
		{in: "src=/a,source=/b", wantErr: "src given twice"},
		{in: "src=/a,dst=/b,type=overlay", wantErr: `unknown type "overlay"`},
		{in: "src=/a,dst=/b,ro=yes", wantErr: "expected true or false"},
		{in: "src=/a,dst=/proc", wantErr: "inside /proc"},
		{in: "src=/a,dst=/proc/sys", wantErr: "inside /proc"},
		{in: "src=/a,dst=/x/../proc/1", wantErr: "inside /proc"},
		{in: "src=/a,dst=/sys", wantErr: "would cover /sys"},
		{in: "src=/a,dst=/dev/", wantErr: "would cover /dev"},
		{in: "src=/a,dst=/", wantErr: "container's root"},
		{in: "src=/a,dst=/..", wantErr: "container's root"},
	}
	for _, tt := range tests {
		got, err := ParseList(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseList(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Count(err.Error(), ErrSyntax.Error()) != 1 {
				t.Errorf("ParseList(%q) error repeats itself: %v", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseList(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseList(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestNormalizeStruct(t *testing.T) {
	// The YAML form goes through the same checks.
	m, err := Mount{Source: "/opt/tools", ReadOnly: true}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	want := Mount{Source: "/opt/tools", Destination: "/opt/tools", ReadOnly: true, Type: TypeBind}
	if m != want {
		t.Errorf("Normalize = %+v, want %+v", m, want)
	}
	if _, err := (Mount{Source: "/a", Destination: "/proc/x"}).Normalize(); err == nil {
		t.Error("Normalize accepted a destination in /proc")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"src=/a,dst=/b,ro", "src=/a,type=squashfs", "src=/a,dst=/proc", "x", ",", "src=/a,optional=false"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if _, err := CheckDestination(m.Destination); err != nil {
			t.Fatalf("Parse(%q) accepted a bad destination: %v", s, err)
		}
		// The written form must parse back to the same mount, unless a path
		// holds one of the separators (which this form cannot express).
		if strings.ContainsAny(m.Source+m.Destination, ",:") {
			return
		}
		again, err := Parse(m.String())
		if err != nil || again != m {
			t.Fatalf("round trip of %q: %q -> %+v, %v", s, m.String(), again, err)
		}
	})
}
