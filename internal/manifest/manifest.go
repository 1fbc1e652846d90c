// Package manifest holds the JSON documents that describe an image in an
// OCI layout or a registry (descriptors, manifests, indexes, the layout
// file), as the OCI image specification writes them. pcocc reads and writes
// only the fields below; it declares them itself rather than use
// github.com/opencontainers/image-spec, whose digest type brings
// go-digest's start-up cost to every pcocc process.
package manifest

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// Files of an OCI layout, and the annotation that tags an index entry.
const (
	LayoutFile        = "oci-layout"
	IndexFile         = "index.json"
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// Layout is the content of LayoutFile.
	Layout = `{"imageLayoutVersion":"1.0.0"}`
)

// Platform is the system an index entry is made for.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// Descriptor points at a blob.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      digest.Digest     `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Index lists manifests.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []Descriptor `json:"manifests"`
}

// NewManifest returns an OCI manifest of config and layers.
func NewManifest(config Descriptor, layers []Descriptor) Manifest {
	return Manifest{SchemaVersion: 2, MediaType: mediatype.OCIManifest, Config: config, Layers: layers}
}

// NewIndex returns an OCI index of ds.
func NewIndex(ds []Descriptor) Index {
	return Index{SchemaVersion: 2, MediaType: mediatype.OCIIndex, Manifests: ds}
}

// Encode returns the JSON of a document and its descriptor.
func Encode(doc any, mediaType string) ([]byte, Descriptor) {
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // the documents above always encode
	}
	return b, Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// Kind tells what a decoded document is.
type Kind int

// Kinds of documents.
const (
	KindUnknown Kind = iota
	KindManifest
	KindIndex
)

// Doc holds the fields of both a manifest and an index: a registry or an
// index entry does not always say which one it gives before it is read.
type Doc struct {
	MediaType string       `json:"mediaType"`
	Config    Descriptor   `json:"config"`
	Layers    []Descriptor `json:"layers"`
	Manifests []Descriptor `json:"manifests"`
}

// Kind says what d is: its media type when it has one, else its fields
// (OCI documents may omit the media type).
func (d *Doc) Kind() Kind {
	switch {
	case mediatype.IsIndex(d.MediaType):
		return KindIndex
	case mediatype.IsManifest(d.MediaType):
		return KindManifest
	case d.MediaType != "":
		return KindUnknown
	case d.Manifests != nil:
		return KindIndex
	case d.Config.Digest != "":
		return KindManifest
	}
	return KindUnknown
}

// Manifest returns d as a manifest.
func (d *Doc) Manifest() Manifest {
	return Manifest{SchemaVersion: 2, MediaType: d.MediaType, Config: d.Config, Layers: d.Layers}
}

// PickPlatform selects the entry of an index made for this machine
// (linux and the architecture pcocc runs on).
func PickPlatform(ds []Descriptor) (Descriptor, error) {
	var seen []string
	for _, d := range ds {
		p := d.Platform
		if p == nil {
			if len(ds) == 1 {
				return d, nil
			}
			continue
		}
		if p.OS == "linux" && p.Architecture == runtime.GOARCH {
			return d, nil
		}
		seen = append(seen, p.OS+"/"+p.Architecture)
	}
	return Descriptor{}, fmt.Errorf("no image for linux/%s in the index (it has %s)",
		runtime.GOARCH, strings.Join(seen, ", "))
}
