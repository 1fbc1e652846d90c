package imagemeta

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	big := strings.Repeat("x", MaxArg)
	tests := []struct {
		name string
		c    Config
		want string // "": accepted
	}{
		{"usual", Config{Env: []string{"A=1"}, Cmd: []string{"/bin/sh"}, Labels: map[string]string{"a": "b"}}, ""},
		{"longest entry", Config{Env: []string{big}}, ""},
		{"entry too long", Config{Env: []string{big + "x"}}, "an entry of the environment is 131072 bytes long"},
		{"environment too large", Config{Env: []string{big, big, big, big, big, big, big, big, big}}, "the environment is 1179648 bytes"},
		{"argument too long", Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{big + "x"}}, "an entry of the command line"},
		{"labels too large", Config{Labels: map[string]string{"l": strings.Repeat("y", MaxConfig)}}, "more than the 4194304 an image may store"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A meta.json larger than MaxMetaFile is refused without being read whole.
func TestReadFileBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meta.json")
	os.WriteFile(p, []byte(`{"format":1,"config":{"env":["A=`+strings.Repeat("x", MaxMetaFile)+`"]}}`), 0o644)
	var m Meta
	if err := ReadFile(p, &m); !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "meta.json: ") {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
	os.WriteFile(p, []byte(`{"format":1,"config":{"env":["A=1"]}}`), 0o644)
	if err := ReadFile(p, &m); err != nil || m.Config.Env[0] != "A=1" {
		t.Errorf("error %v, meta %+v", err, m)
	}
	os.WriteFile(p, []byte(`{"format":`), 0o644)
	if err := ReadFile(p, &m); err == nil || !strings.HasPrefix(err.Error(), "meta.json: ") {
		t.Errorf("error %v for a truncated file", err)
	}
}
