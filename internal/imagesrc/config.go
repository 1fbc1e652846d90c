package imagesrc

import (
	"encoding/json"
	"fmt"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// MaxJSON bounds the manifests and configurations a transport reads in
// memory.
const MaxJSON = 32 << 20

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
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
}

// DecodeConfig decodes a configuration blob, whose diff IDs it returns:
// the configuration must name one per layer of the manifest (what, in
// errors), which names layers of them.
func DecodeConfig(blob []byte, what string, layers int) (imagemeta.Config, []digest.Digest, error) {
	var c configFile
	if err := json.Unmarshal(blob, &c); err != nil {
		return imagemeta.Config{}, nil, fmt.Errorf("decoding image configuration: %w", err)
	}
	for _, d := range c.RootFS.DiffIDs {
		if d.Validate() != nil {
			return imagemeta.Config{}, nil, fmt.Errorf("image configuration: invalid diff_id %q", d)
		}
	}
	if len(c.RootFS.DiffIDs) != layers {
		return imagemeta.Config{}, nil, fmt.Errorf("%s names %d layers, the configuration %d", what, layers, len(c.RootFS.DiffIDs))
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
