package legacyrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/repo"
)

func init() { repo.ForeignFormats = append(repo.ForeignFormats, Detect) }

const configFile = ".config"

// store is one repository of the original pcocc.
type store struct {
	path    string
	version int
	read    map[string][]byte // record file -> bytes as read, to detect changes before a rewrite
}

// Detect opens path as a repository of the original pcocc when it has a
// .config file; it returns nil, nil for any other directory.
func Detect(path string) (repo.Foreign, error) {
	cfg := filepath.Join(path, configFile)
	data, err := os.ReadFile(cfg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg, err)
	}
	return &store{path: path, version: v, read: map[string][]byte{}}, nil
}

// parseConfig checks .config as the original does (an object with exactly
// a numeric "version"), and accepts the versions it reads, 1 and 2.
func parseConfig(data []byte) (int, error) {
	var c map[string]any
	if err := yaml.Unmarshal(data, &c); err != nil {
		return 0, fmt.Errorf("not a repository configuration of the original pcocc: %s", firstLine(err.Error()))
	}
	for k := range c {
		if k != "version" {
			return 0, fmt.Errorf("unknown key %q (the original pcocc's repository configuration holds only \"version\")", k)
		}
	}
	var v float64 // the original's schema says "number": 2 and 2.0 are both version 2
	switch n := c["version"].(type) {
	case uint64:
		v = float64(n)
	case int64:
		v = float64(n)
	case float64:
		v = n
	case nil:
		return 0, errors.New(`missing key "version"`)
	default:
		return 0, fmt.Errorf("version %v is not a number", n)
	}
	if v != 1 && v != 2 {
		return 0, fmt.Errorf("unsupported version %v of the original pcocc's repository format (1 and 2 are read)", v)
	}
	return int(v), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func (s *store) Describe() string {
	return fmt.Sprintf("the original pcocc's format, version %d", s.version)
}

func (s *store) TmpDir() string { return filepath.Join(s.path, ".tmp") }

// Writable: a rebuild writes a blob into data/, a record into meta/ and its
// work files into .tmp/.
func (s *store) Writable() bool {
	for _, d := range []string{"data", "meta", ".tmp"} {
		if unix.Access(filepath.Join(s.path, d), unix.W_OK) != nil {
			return false
		}
	}
	return true
}

// BlobPath is where the blob d is stored.
func (s *store) BlobPath(d digest.Digest) (string, error) { return s.blobPath(string(d)) }

// blobPath accepts the two spellings data_blobs use: "sha256:HEX" (the blobs
// of an OCI layout) and "HEX" (qcow2 layers).
func (s *store) blobPath(name string) (string, error) {
	d, err := digest.FromHex(strings.TrimPrefix(name, "sha256:"))
	if err != nil {
		return "", fmt.Errorf("invalid blob hash %q", name)
	}
	return filepath.Join(s.path, "data", d.Hex()[:2], d.Hex()), nil
}
