package manifest

import (
	"encoding/json"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

func TestKind(t *testing.T) {
	cfg := Descriptor{Digest: digest.FromBytes(nil)}
	tests := []struct {
		doc  Doc
		want Kind
	}{
		{Doc{MediaType: mediatype.OCIIndex}, KindIndex},
		{Doc{MediaType: mediatype.DockerManifestList}, KindIndex},
		{Doc{MediaType: mediatype.OCIManifest}, KindManifest},
		{Doc{MediaType: mediatype.DockerManifest}, KindManifest},
		{Doc{Manifests: []Descriptor{}}, KindIndex},
		{Doc{Config: cfg}, KindManifest},
		{Doc{}, KindUnknown},
		{Doc{MediaType: "application/json", Config: cfg}, KindUnknown},
	}
	for _, tt := range tests {
		if got := tt.doc.Kind(); got != tt.want {
			t.Errorf("%+v: kind %d, want %d", tt.doc, got, tt.want)
		}
	}
}

// TestEncode checks the JSON field names against the OCI specification's.
func TestEncode(t *testing.T) {
	l := Descriptor{MediaType: mediatype.OCILayerGzip, Digest: digest.FromBytes([]byte("l")), Size: 1}
	b, d := Encode(NewManifest(Descriptor{MediaType: mediatype.OCIConfig, Digest: digest.FromBytes(nil)}, []Descriptor{l}), mediatype.OCIManifest)
	if d.Digest != digest.FromBytes(b) || d.Size != int64(len(b)) {
		t.Fatalf("descriptor %+v does not describe %s", d, b)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["schemaVersion"] != 2.0 || raw["mediaType"] != mediatype.OCIManifest || raw["config"] == nil || raw["layers"] == nil {
		t.Fatalf("manifest %s", b)
	}
	d.Annotations = map[string]string{AnnotationRefName: "v1"}
	ib, _ := Encode(NewIndex([]Descriptor{d}), mediatype.OCIIndex)
	var idx Doc
	if err := json.Unmarshal(ib, &idx); err != nil || idx.Kind() != KindIndex || idx.Manifests[0].Annotations[AnnotationRefName] != "v1" {
		t.Fatalf("index %s: %+v, %v", ib, idx, err)
	}
}
