package slurm

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestEnvSpecs(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  nil,
		"A=1,B":             {"A=1", "B"},
		"re(^X{1,2}$),Y=a":  {"re(^X{1,2}$)", "Y=a"},
		",A,,pp(PATH)=/x,":  {"A", "pp(PATH)=/x"},
		"re((a|b),c),D=(,)": {"re((a|b),c)", "D=(,)"},
	} {
		if got := EnvSpecs(in); !slices.Equal(got, want) {
			t.Errorf("EnvSpecs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModules(t *testing.T) {
	if got := Modules(" a, b,,c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Modules = %q", got)
	}
}

func TestResultWrite(t *testing.T) {
	var b bytes.Buffer
	r := Result{Init: 42, Cwd: "/w d", CwdStrict: true, Env: []string{"A=1", "B=x=y"}}
	if err := r.Write(&b); err != nil {
		t.Fatal(err)
	}
	recs := strings.Split(strings.TrimSuffix(b.String(), "\x00"), "\x00")
	for _, want := range []string{"init=42", "cwd=/w d", "cwdstrict=1", "env=A=1", "env=B=x=y", "keep=SLURM_*", "keep=CUDA_VISIBLE_DEVICES", "default=PMIX_MCA_gds=hash"} {
		if !slices.Contains(recs, want) {
			t.Errorf("no record %q in %q", want, recs)
		}
	}
	if recs[0] != "init=42" || recs[len(recs)-1] != "end" {
		t.Errorf("records must start with init and end with end: %q", recs)
	}
	b.Reset()
	if err := (Result{Init: 1, Cwd: "/"}).Write(&b); err != nil || strings.Contains(b.String(), "cwdstrict") {
		t.Errorf("cwdstrict written when not strict: %q", b.String())
	}
}
