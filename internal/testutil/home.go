package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// Home gives the test a fresh, empty HOME and points every configuration
// and data directory pcocc reads into it (the system configuration at
// HOME/etc), so that nothing of the user running the tests is seen.
func Home(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "",
		"PCOCC_CONFIG_PATH": "", "PCOCC_SYSTEM_CONF_DIR": filepath.Join(home, "etc")} {
		t.Setenv(k, v)
	}
	return home
}

// ConfigDir is the user configuration directory of a Home.
func ConfigDir(home string) string { return filepath.Join(home, ".config", "pcocc") }

// UserRepo is the path of the built-in user repository of a Home.
func UserRepo(home string) string { return filepath.Join(home, ".local", "share", "pcocc", "images") }

// WriteFile writes body to path, creating its parent directories.
func WriteFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
