package testutil

import (
	"os"
	"path/filepath"
)

// BinDir is the absolute directory of the built pcocc and pcocc-rs, from
// PCOCC_BIN_DIR (make build writes bin/); "" when it is not set.
func BinDir() string { return absEnv("PCOCC_BIN_DIR") }

// absEnv is the absolute form of the path in the variable name.
func absEnv(name string) string {
	d := os.Getenv(name)
	if d == "" {
		return ""
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		return d
	}
	return abs
}

// Fixtures is the absolute directory of the images that
// test/fixtures/make-images.sh made, from PCOCC_FIXTURES; "" when it is not
// set.
func Fixtures() string { return absEnv("PCOCC_FIXTURES") }
