package mediatype

import (
	"testing"

	"github.com/pcocc/pcocc/internal/rootfs"
)

func TestLayers(t *testing.T) {
	for _, c := range []rootfs.Compression{rootfs.Uncompressed, rootfs.Gzip, rootfs.Zstd} {
		d := DockerLayerFor(c)
		if !IsLayer(d) || !IsLayer(ToOCI(d)) {
			t.Errorf("%s: %q or %q is not a layer type", c, d, ToOCI(d))
		}
	}
	if DockerLayerFor(rootfs.Compression("xz")) != "" {
		t.Error("an xz layer has a Docker media type")
	}
	if ToOCI("") != OCILayer || ToOCI(OCILayerGzip) != OCILayerGzip {
		t.Error("ToOCI does not keep OCI types or map an empty one to a tar")
	}
	for _, m := range Manifests {
		if IsIndex(m) == IsManifest(m) {
			t.Errorf("%q is both or neither an index and a manifest", m)
		}
		if IsLayer(m) {
			t.Errorf("%q is taken for a layer", m)
		}
	}
}
