package imagesrc

import (
	"encoding/json"
	"fmt"

	"github.com/pcocc/pcocc/internal/digest"
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

// newImage reads the configuration blob (checked against its digest cd)
// of an image digested d: the configuration must name one diff ID per
// layer of the manifest (what, in errors).
func newImage(blob []byte, cd, d, what string, layers int) (*layered, []string, error) {
	cfg, diffIDs, err := parseConfig(blob)
	if err != nil {
		return nil, nil, err
	}
	if len(diffIDs) != layers {
		return nil, nil, fmt.Errorf("%s names %d layers, the configuration %d", what, layers, len(diffIDs))
	}
	return &layered{config: cfg, blob: blob, configDigest: cd, digest: d}, diffIDs, nil
}

func parseConfig(blob []byte) (imagemeta.Config, []string, error) {
	var c configFile
	if err := json.Unmarshal(blob, &c); err != nil {
		return imagemeta.Config{}, nil, fmt.Errorf("decoding image configuration: %w", err)
	}
	for _, d := range c.RootFS.DiffIDs {
		if !digest.Valid(d) {
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

// blobPath is where an OCI layout keeps a blob.
func blobPath(d string) (string, error) {
	if err := digest.Digest(d).Validate(); err != nil {
		return "", err
	}
	return "blobs/sha256/" + digest.Digest(d).Hex(), nil
}
