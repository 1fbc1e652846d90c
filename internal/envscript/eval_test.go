package envscript

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

func TestEnvScript(t *testing.T) {
	tests := []struct {
		name, src string
		env       []string
		warn      []string // substrings, one per warning, in order
	}{
		{"export quoted", `export A="b c"`, []string{"A=b c"}, nil},
		{"assign then export", "A=b; export A", []string{"A=b"}, nil},
		{"not exported", "A=b\nexport B=$A/x", []string{"B=b/x"}, nil},
		{"docker2singularity default", `export FOO="${FOO:-"bar"}"`, []string{"FOO=bar"}, nil},
		{"unquoted default", `export X=${X:-"default value"}`, []string{"X=default value"}, nil},
		{"default of a set variable", "Y=1\nexport X=${Y:-2} Z=${Y-3} W=${Y:+4} V=${U:+5}", []string{"X=1", "Z=1", "W=4", "V="}, nil},
		{"assign default", "export X=${Y:=7}; export Y", []string{"Y=7", "X=7"}, nil},
		{"single quotes", `export S='a $b "c"'`, []string{`S=a $b "c"`}, nil},
		{"escapes", `export E="a\$b \"q\" \\ \n" F=a\ b`, []string{`E=a$b "q" \ \n`, "F=a b"}, nil},
		{"path append", "export P=/opt/bin:$PATH", []string{"P=/opt/bin:" + defaultPath}, nil},
		{"path prepend", "PATH=/opt/bin:${PATH}", []string{"PATH=/opt/bin:" + defaultPath}, nil},
		{"path untouched", "export A=1", []string{"A=1"}, nil},
		{"comments", "#!/bin/sh\n# comment\nexport A=1 # trailing\nexport B=a#b", []string{"A=1", "B=a#b"}, nil},
		{"multi-line value", "export M=\"line1\nline2\"\nexport N=2", []string{"M=line1\nline2", "N=2"}, nil},
		{"continuation", "export A=1 \\\n  B=2", []string{"A=1", "B=2"}, nil},
		{"unset", "export A=1 B=2\nunset A", []string{"B=2"}, nil},
		{"export unset name", "export A B=2", []string{"B=2"}, nil},
		{"later assignment of exported", "export A\nA=5", []string{"A=5"}, nil},
		{"empty value", `export A= B=""`, []string{"A=", "B="}, nil},
		{"nested default", `export A="${A:-${B:-x}y}"`, []string{"A=xy"}, nil},
		{"command substitution", "export A=$(id -u)\nexport B=1", []string{"B=1"}, []string{"t.sh:1: skipping a command: command substitution"}},
		{"backticks", "export A=`id -u`", nil, []string{"t.sh:1: skipping a command: command substitution"}},
		{"arithmetic", "export A=$((1+2))", nil, []string{"arithmetic"}},
		{"if block", "export A=1\nif [ -z \"$X\" ]; then\n  export X=1\nfi\nexport B=2", []string{"A=1", "B=2"},
			[]string{`t.sh:2: skipping the "if" block (lines 2-4)`}},
		{"one-line if", "if true; then export X=1; fi; export B=2", []string{"B=2"}, []string{`skipping the "if" block`}},
		{"nested blocks", "for a in b; do\nif x; then\nexport X=1\nfi\ndone\nexport C=3", []string{"C=3"}, []string{`"for" block (lines 1-5)`}},
		{"case", "case $X in\na) export A=1 ;;\nesac\nexport B=2", []string{"B=2"}, []string{`"case" block`}},
		{"function", "f() { export A=1; }\nexport B=2", []string{"B=2"}, []string{`skipping the "{" block (lines 1-1)`}},
		{"unknown variable", "export D=$HOME/data", []string{"D=/data"}, []string{"t.sh:1: $HOME is not set by the image's scripts"}},
		{"special parameter", "export A=$1", nil, []string{"special parameter $1"}},
		{"other command", "echo hi\n. /etc/profile\nexport A=1", []string{"A=1"}, []string{`skipping "echo"`, `skipping "."`}},
		{"assignment before command", "A=1 env", nil, []string{`skipping "env"`}},
		{"tilde", "export A=~/x", nil, []string{"tilde"}},
		{"quoted tilde", `export A="~/x" B=a~b`, []string{"A=~/x", "B=a~b"}, nil},
		{"pipeline", "export A=1 | cat\nexport B=1 && export C=1", nil, []string{`"|"`, `"&"`}},
		{"unsupported brace form", "export A=${B%x}", nil, []string{"${B%...} is not supported"}},
		{"unterminated quote", `export A="x`, nil, []string{"unterminated double quote"}},
		{"dollar alone", `export A="a$" B=$`, []string{"A=a$", "B=$"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			s.Eval("t.sh", tt.src)
			if diff := cmp.Diff(tt.env, s.Env()); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if len(s.warnings) != len(tt.warn) {
				t.Fatalf("warnings %q, want %d like %q", s.warnings, len(tt.warn), tt.warn)
			}
			for i, w := range tt.warn {
				if !strings.Contains(s.warnings[i], w) {
					t.Errorf("warning %d: %q does not contain %q", i, s.warnings[i], w)
				}
			}
		})
	}
}

// Later scripts see what earlier ones set, as when Apptainer sources
// them in order.
func TestEnvScriptsInOrder(t *testing.T) {
	s := New()
	s.Eval("10-docker2singularity.sh", "export PATH=\"/usr/local/bin:/usr/bin\"\nexport LANG=\"${LANG:-\"C.UTF-8\"}\"")
	s.Eval("90-environment.sh", "export PATH=/opt/app/bin:$PATH\nexport GREETING=\"hello $LANG\"")
	want := []string{"PATH=/opt/app/bin:/usr/local/bin:/usr/bin", "LANG=C.UTF-8", "GREETING=hello C.UTF-8"}
	if diff := cmp.Diff(want, s.Env()); diff != "" || len(s.warnings) > 0 {
		t.Errorf("env (-want +got):\n%s\nwarnings %q", diff, s.warnings)
	}
}

// checkBounds fails unless the evaluation stayed within its bounds.
func checkBounds(t *testing.T, s *State) {
	t.Helper()
	total := 0
	for _, e := range s.Env() {
		if len(e) > imagemeta.MaxArg {
			t.Errorf("entry %.20q... is %d bytes, more than %d", e, len(e), imagemeta.MaxArg)
		}
		total += len(e) + 1
	}
	if total > imagemeta.MaxEnv {
		t.Errorf("environment of %d bytes, more than %d", total, imagemeta.MaxEnv)
	}
	if len(s.warnings) > maxWarnings+1 {
		t.Errorf("%d warnings", len(s.warnings))
	}
	if err := (&imagemeta.Config{Env: s.Env()}).Check(); err != nil {
		t.Errorf("the environment is refused by imagemeta: %v", err)
	}
}

// doubling is the script of the attack: A doubles at each line.
func doubling(n int) string {
	return "export A=" + strings.Repeat("x", 64) + strings.Repeat("\nA=$A$A", n)
}

// TestEnvScriptBounds: a few lines of shell must not make the import, the
// stored metadata or every later `image list` cost gigabytes.
func TestEnvScriptBounds(t *testing.T) {
	var many strings.Builder
	many.WriteString(doubling(10)) // A is 64 KiB
	for i := range 20 {
		fmt.Fprintf(&many, "\nexport V%d=$A", i)
	}
	tests := []struct {
		name, src string
		env       int    // length of Env
		warn      string // in some warning
	}{
		{"doubling", doubling(22), 1, "skipping the assignment of A: its value is longer than the 131071 bytes"},
		{"many variables", many.String(), 15, "skipping the assignment of V14: the variables would take more than 1048576 bytes"},
		{"expansion budget", doubling(10) + strings.Repeat("\nB=$A", 1000) + "\nexport C=1", 1, "stopping: the scripts expand to more than 16777216 bytes"},
		{"warnings", strings.Repeat("echo x\n", 500), 0, "more warnings, not shown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			s.Eval("t.sh", tt.src)
			checkBounds(t, s)
			if len(s.Env()) != tt.env {
				t.Errorf("%d variables, want %d", len(s.Env()), tt.env)
			}
			if !slices.ContainsFunc(s.warnings, func(w string) bool { return strings.Contains(w, tt.warn) }) {
				t.Errorf("no warning says %q: %.300q", tt.warn, s.warnings)
			}
		})
	}
}

func FuzzEval(f *testing.F) {
	for _, src := range []string{
		doubling(22),
		`export FOO="${FOO:-"bar"}"`,
		"export A=${B:=x}${B:+y}\nunset A\nexport A",
		"if x; then\nexport A=1\nfi\nexport B=${A-$(id)}",
		"export A=" + strings.Repeat("x", 100) + strings.Repeat("\nA=${A}${A:-$A}", 20),
		"export A=" + strings.Repeat("y", 1000) + strings.Repeat("\nexport B$A=$A", 10),
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s := New()
		s.Eval("f.sh", src)
		checkBounds(t, s)
	})
}
