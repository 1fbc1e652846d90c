package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envMap turns a map into an env lookup, as os.Getenv would be.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFiles creates files (relative path -> content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// layout is a system dir, two PCOCC_CONFIG_PATH dirs and a user dir under
// one temporary root, with a home directory for "~".
type layout struct {
	root, home        string
	sys, p1, p2, user string
	env               map[string]string
}

func newLayout(t *testing.T) *layout {
	root := t.TempDir()
	l := &layout{root: root, home: filepath.Join(root, "home")}
	l.sys = filepath.Join(root, "etc")
	l.p1 = filepath.Join(root, "p1")
	l.p2 = filepath.Join(root, "p2")
	l.user = filepath.Join(l.home, ".config", "pcocc")
	l.env = map[string]string{
		"HOME":                  l.home,
		"PCOCC_SYSTEM_CONF_DIR": l.sys,
		"PCOCC_CONFIG_PATH":     l.p1 + ":" + l.p2,
	}
	if err := os.MkdirAll(l.home, 0o755); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *layout) load(t *testing.T, files map[string]string, opts ...Option) *Config {
	t.Helper()
	for k, v := range files {
		if strings.Contains(v, "ROOT") {
			files[k] = strings.ReplaceAll(v, "ROOT", l.root)
		}
	}
	writeFiles(t, l.root, files)
	return Load(DefaultDirs(envMap(l.env)), envMap(l.env), opts...)
}

// wantErr checks that err holds an *Error at file:line:col whose text
// contains msg; file is relative to root.
func wantErr(t *testing.T, root string, err error, file string, line, col int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s:%d:%d: %s", file, line, col, msg)
	}
	prefix := fmt.Sprintf("%s:%d:%d: ", filepath.Join(root, file), line, col)
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, msg) {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			return
		}
	}
	t.Fatalf("error:\n%v\nwant a line %q...%q", err, prefix, msg)
}

func replaceRoot(s, root string) string { return strings.ReplaceAll(s, "ROOT", root) }
