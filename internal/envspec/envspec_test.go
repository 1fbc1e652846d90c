package envspec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		kind    Kind
		name    string
		value   string
		re      string
		wantErr string
	}{
		{in: "HOME", kind: Propagate, name: "HOME"},
		{in: "_X1", kind: Propagate, name: "_X1"},
		{in: "A=b", kind: Set, name: "A", value: "b"},
		{in: "A=", kind: Set, name: "A", value: ""},
		{in: "A=b=c", kind: Set, name: "A", value: "b=c"},
		{in: "A=re(x)", kind: Set, name: "A", value: "re(x)"},
		{in: "re(^OMPI_)", kind: Regex, re: "^OMPI_"},
		{in: "re(a|(b))", kind: Regex, re: "a|(b)"},
		{in: "re(x=y)", kind: Regex, re: "x=y"},
		{in: "pp(PATH)=/opt/bin", kind: Prefix, name: "PATH", value: "/opt/bin"},
		{in: "ps(LD_LIBRARY_PATH)=/a:/b", kind: Suffix, name: "LD_LIBRARY_PATH", value: "/a:/b"},
		{in: "pp(P)=x)=y", kind: Prefix, name: "P", value: "x)=y"},
		{in: "", wantErr: "empty variable name"},
		{in: "=x", wantErr: "empty variable name"},
		{in: "1A=x", wantErr: "invalid variable name"},
		{in: "A B=x", wantErr: "invalid variable name"},
		{in: "re(", wantErr: "missing ')'"},
		{in: "re()", wantErr: "empty regular expression"},
		{in: "re(^OMPI_", wantErr: "missing ')'"},
		{in: "re([)", wantErr: "bad regular expression"},
		{in: "pp(PATH)", wantErr: "needs a value"},
		{in: "ps(PATH=/x", wantErr: "needs a value"},
		{in: "pp()=x", wantErr: "empty variable name"},
		{in: "pp(A-B)=x", wantErr: "invalid variable name"},
		{in: "A=x\x00y", wantErr: "NUL"},
		{in: "PP(PATH)=x", wantErr: "invalid variable name"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		gotRe := ""
		if got.Re != nil {
			gotRe = got.Re.String()
		}
		if got.Kind != tt.kind || got.Name != tt.name || got.Value != tt.value || gotRe != tt.re {
			t.Errorf("Parse(%q) = %+v (re %q)", tt.in, got, gotRe)
		}
		if got.String() != tt.in {
			t.Errorf("Parse(%q).String() = %q", tt.in, got.String())
		}
	}
}

func mustParse(t *testing.T, specs ...string) []Spec {
	t.Helper()
	var out []Spec
	for _, s := range specs {
		p, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestApply(t *testing.T) {
	host := []string{"HOME=/home/u", "OMPI_A=1", "SECRET=s", "OMPI_B=2", "EMPTY="}
	tests := []struct {
		name  string
		base  []string
		specs []string
		want  []string
	}{
		{"nothing propagates by default", []string{"A=1"}, nil, []string{"A=1"}},
		{"propagate", nil, []string{"HOME"}, []string{"HOME=/home/u"}},
		{"propagate empty value", nil, []string{"EMPTY"}, []string{"EMPTY="}},
		{"propagate unset is skipped", []string{"X=img"}, []string{"X"}, []string{"X=img"}},
		{"propagate overrides image", []string{"HOME=/root"}, []string{"HOME"}, []string{"HOME=/home/u"}},
		{"set", []string{"A=1"}, []string{"B=2"}, []string{"A=1", "B=2"}},
		{"set keeps position", []string{"A=1", "B=2"}, []string{"A=3"}, []string{"A=3", "B=2"}},
		{"later spec wins", nil, []string{"A=1", "A=2"}, []string{"A=2"}},
		{"regex", nil, []string{"re(^OMPI_)"}, []string{"OMPI_A=1", "OMPI_B=2"}},
		{"regex unanchored", nil, []string{"re(CRE)"}, []string{"SECRET=s"}},
		{"prefix", []string{"PATH=/bin"}, []string{"pp(PATH)=/opt"}, []string{"PATH=/opt:/bin"}},
		{"suffix", []string{"PATH=/bin"}, []string{"ps(PATH)=/opt"}, []string{"PATH=/bin:/opt"}},
		{"prefix unset: no empty element", nil, []string{"pp(LD)=/l"}, []string{"LD=/l"}},
		{"suffix empty: no empty element", []string{"LD="}, []string{"ps(LD)=/l"}, []string{"LD=/l"}},
		{"empty affix is a no-op", nil, []string{"pp(LD)="}, []string{}},
		{"affix applies to container value", []string{"PATH=/img"}, []string{"PATH=/set", "pp(PATH)=/p", "ps(PATH)=/s"}, []string{"PATH=/p:/set:/s"}},
		{"duplicate in base: last wins", []string{"A=1", "A=2"}, nil, []string{"A=2"}},
		{"malformed base entries dropped", []string{"NOEQ", "=x", "A=1"}, nil, []string{"A=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Apply(tt.base, host, mustParse(t, tt.specs...)...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Apply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyDoesNotModifyBase(t *testing.T) {
	base := []string{"A=1"}
	Apply(base, nil, mustParse(t, "A=2")...)
	if base[0] != "A=1" {
		t.Fatalf("base modified: %v", base)
	}
}

func TestLookup(t *testing.T) {
	l := []string{"A=1", "B=", "A=2"}
	if v, ok := Lookup(l, "A"); !ok || v != "2" {
		t.Errorf("Lookup A = %q %v", v, ok)
	}
	if v, ok := Lookup(l, "B"); !ok || v != "" {
		t.Errorf("Lookup B = %q %v", v, ok)
	}
	if _, ok := Lookup(l, "C"); ok {
		t.Error("Lookup C found")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"A", "A=b", "re(^X)", "pp(P)=/a", "ps(P)=/b", "re(", "pp(", "=", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			return
		}
		// The written form must parse back to the same spec.
		again, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, sp.String(), err)
		}
		if again.String() != sp.String() || again.Kind != sp.Kind {
			t.Fatalf("round trip of %q changed: %q -> %q", s, sp.String(), again.String())
		}
		if sp.Kind != Regex {
			Apply(nil, []string{sp.Name + "=x"}, sp)
		}
	})
}
