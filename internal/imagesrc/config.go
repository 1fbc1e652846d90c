package imagesrc

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strings"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// configFile is the part of an OCI or Docker image configuration we use;
// both formats share these fields.
type configFile struct {
	Config struct {
		Env        []string          `json:"Env"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		WorkingDir string            `json:"WorkingDir"`
		User       string            `json:"User"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

func parseConfig(blob []byte) (imagemeta.Config, []string, error) {
	var c configFile
	if err := json.Unmarshal(blob, &c); err != nil {
		return imagemeta.Config{}, nil, fmt.Errorf("decoding image configuration: %w", err)
	}
	for _, d := range c.RootFS.DiffIDs {
		if !validDigest(d) {
			return imagemeta.Config{}, nil, fmt.Errorf("image configuration: invalid diff_id %q", d)
		}
	}
	cfg := imagemeta.Config{
		Env:        c.Config.Env,
		Entrypoint: c.Config.Entrypoint,
		Cmd:        c.Config.Cmd,
		WorkingDir: c.Config.WorkingDir,
		User:       c.Config.User,
		Labels:     c.Config.Labels,
	}
	return cfg, c.RootFS.DiffIDs, nil
}

var sha256Hex = lazyRegexp(`^[0-9a-f]{64}$`)

// validDigest accepts sha256:<64 hex>, the only algorithm images use.
func validDigest(d string) bool {
	alg, h, ok := strings.Cut(d, ":")
	return ok && alg == "sha256" && sha256Hex().MatchString(h)
}

// Digest returns the sha256 digest of b in the sha256:<hex> form.
func Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// blobPath is where an OCI layout keeps a blob.
func blobPath(digest string) (string, error) {
	if !validDigest(digest) {
		return "", fmt.Errorf("unsupported or invalid digest %q", digest)
	}
	return "blobs/sha256/" + digest[len("sha256:"):], nil
}

// hasher computes a sha256 digest while data is written to it.
type hasher struct{ hash.Hash }

func newHash() hasher { return hasher{sha256.New()} }

func (h hasher) digest() string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }
