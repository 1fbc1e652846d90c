package imagemeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Bounds on what an image may store. An environment or a command line
// that execve(2) refuses could never run, and every `image list` reads the
// metadata of every image of a repository, which may be shared: one image
// must not make that cost gigabytes.
const (
	// MaxArg is the longest string (an environment entry NAME=value, an
	// argument) execve accepts: Linux's MAX_ARG_STRLEN, 32 pages, less
	// the terminating NUL.
	MaxArg = 32*4096 - 1
	// MaxEnv bounds an image's environment, entries and their NULs: half
	// of the 2 MiB execve takes with the usual 8 MiB stack limit, leaving
	// the rest to the command line and to what pcocc and the user add.
	MaxEnv = 1 << 20
	// MaxConfig bounds the JSON encoding of a Config (labels mostly).
	MaxConfig = 4 << 20
	// MaxMetaFile bounds a stored meta.json: ReadFile refuses larger ones.
	MaxMetaFile = 8 << 20
)

// Check tells whether c is within the bounds above, in one line.
func (c *Config) Check() error {
	if err := checkStrings("environment", c.Env); err != nil {
		return err
	}
	if err := checkStrings("command line", append(append([]string{}, c.Entrypoint...), c.Cmd...)); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("image configuration: %w", err)
	}
	if len(b) > MaxConfig {
		return fmt.Errorf("image configuration: %d bytes (labels, environment, command), more than the %d an image may store", len(b), MaxConfig)
	}
	return nil
}

// checkStrings bounds a list of execve strings: each and their total.
func checkStrings(what string, l []string) error {
	total := 0
	for _, s := range l {
		if len(s) > MaxArg {
			return fmt.Errorf("image configuration: an entry of the %s is %d bytes long, more than the %d a program can be given",
				what, len(s), MaxArg)
		}
		total += len(s) + 1
	}
	if total > MaxEnv {
		return fmt.Errorf("image configuration: the %s is %d bytes, more than the %d an image may hold", what, total, MaxEnv)
	}
	return nil
}

// ErrTooLarge is returned by ReadFile for a file over MaxMetaFile.
var ErrTooLarge = errors.New("larger than an image's metadata may be")

// ReadFile reads a stored meta.json into m, refusing (without reading it
// whole) a file larger than MaxMetaFile.
func ReadFile(path string, m *Meta) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetaFile+1))
	if err != nil {
		return err
	}
	if len(b) > MaxMetaFile {
		return fmt.Errorf("%s: %w (%d bytes)", filepath.Base(path), ErrTooLarge, MaxMetaFile)
	}
	if err := json.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}
