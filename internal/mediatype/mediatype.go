// Package mediatype is the one place that spells the media types of image
// manifests, indexes, configurations and layers, OCI and Docker, and says
// which layers pcocc can flatten.
package mediatype

import (
	"slices"

	"github.com/pcocc/pcocc/internal/rootfs"
)

// Manifests and indexes.
const (
	OCIManifest = "application/vnd.oci.image.manifest.v1+json"
	OCIIndex    = "application/vnd.oci.image.index.v1+json"

	DockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// Configurations.
const (
	OCIConfig    = "application/vnd.oci.image.config.v1+json"
	DockerConfig = "application/vnd.docker.container.image.v1+json"
)

// Layers.
const (
	OCILayer     = "application/vnd.oci.image.layer.v1.tar"
	OCILayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	OCILayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"

	DockerLayer     = "application/vnd.docker.image.rootfs.diff.tar"
	DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	DockerLayerZstd = "application/vnd.docker.image.rootfs.diff.tar.zstd"
)

// Manifests lists the manifest and index types a registry is asked for,
// in order of preference.
var Manifests = []string{OCIManifest, OCIIndex, DockerManifest, DockerManifestList}

// IsIndex says whether t is an index (or Docker manifest list).
func IsIndex(t string) bool { return t == OCIIndex || t == DockerManifestList }

// IsManifest says whether t is an image manifest.
func IsManifest(t string) bool { return t == OCIManifest || t == DockerManifest }

// flattenable are the layer types pcocc can flatten.
var flattenable = []string{OCILayer, OCILayerGzip, OCILayerZstd, DockerLayer, DockerLayerGzip, DockerLayerZstd}

// IsLayer says whether t is a layer type pcocc can flatten.
func IsLayer(t string) bool { return slices.Contains(flattenable, t) }

// DockerLayerFor gives the Docker media type of a layer compressed with c,
// "" when Docker has none.
func DockerLayerFor(c rootfs.Compression) string {
	switch c {
	case rootfs.Uncompressed:
		return DockerLayer
	case rootfs.Gzip:
		return DockerLayerGzip
	case rootfs.Zstd:
		return DockerLayerZstd
	}
	return ""
}

// ToOCI gives the OCI media type of a stored layer type: Docker's are
// mapped, an empty one is an uncompressed tar, others are kept.
func ToOCI(t string) string {
	switch t {
	case DockerLayer, "":
		return OCILayer
	case DockerLayerGzip:
		return OCILayerGzip
	case DockerLayerZstd:
		return OCILayerZstd
	}
	return t
}
