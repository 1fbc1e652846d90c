// Package imagemeta holds the description of an image as a repository stores it:
// the run-time configuration taken from the image, where it came from, and the
// layers it was built from. It is plain data shared by the import pipeline, the
// repository and the container launcher.
package imagemeta

import (
	"time"

	"github.com/pcocc/pcocc/internal/digest"
)

// FormatVersion is the version of the metadata layout written by this program.
const FormatVersion = 1

// Type of an image in a repository.
const (
	TypeContainer = "container"
	TypeVM        = "vm"
)

// Config is the part of an OCI image configuration that matters at run time.
type Config struct {
	Env        []string          `json:"env,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	User       string            `json:"user,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Origin says where an image came from.
type Origin struct {
	Source string        `json:"source"`           // the SOURCE argument given to import, as typed
	Digest digest.Digest `json:"digest,omitempty"` // digest of the source manifest or config
	Date   time.Time     `json:"date"`             // when it was imported
	Owner  string        `json:"owner"`            // user name (uid) of the importer
}

// Layer is one stored layer blob of an image, bottom first in Meta.Layers.
type Layer struct {
	Digest    digest.Digest `json:"digest"`    // sha256:<hex> of the blob as stored (maybe compressed)
	DiffID    digest.Digest `json:"diffID"`    // sha256:<hex> of the uncompressed tar
	MediaType string        `json:"mediaType"` // media type of the blob as stored
	Size      int64         `json:"size"`      // size of the blob as stored
}

// Squashfs describes the image's built root filesystem.
type Squashfs struct {
	File        string `json:"file"` // file name inside the image directory
	Size        int64  `json:"size"`
	Compression string `json:"compression"`
}

// Meta is everything a repository records about one image.
type Meta struct {
	Format       int           `json:"format"`
	Type         string        `json:"type"`
	Config       Config        `json:"config"`
	Origin       Origin        `json:"origin"`
	ConfigDigest digest.Digest `json:"configDigest,omitempty"` // blob holding the original OCI config
	Layers       []Layer       `json:"layers,omitempty"`
	// NoLayers: the blobs of ConfigDigest and Layers were not kept (an
	// import with --no-layers, or into a repository with keep_layers:
	// false); the image cannot be rebuilt nor exported.
	NoLayers bool      `json:"noLayers,omitempty"`
	Squashfs *Squashfs `json:"squashfs,omitempty"` // nil: no squashfs was built
	// VM holds the revisions of a VM image (Type "vm"); nil for containers,
	// so the meta.json of a container image is the same as before VMs.
	VM *VM `json:"vm,omitempty"`
}

// VM is what a repository records about a VM image: its revisions, oldest
// first. Each revision lists its whole chain of qcow2 layers, so that
// deleting one revision never takes a layer another one needs.
type VM struct {
	Revisions []VMRevision `json:"revisions"`
}

// VMRevision is one revision NAME@Rev of a VM image.
type VMRevision struct {
	Rev int `json:"rev"`
	// Layers are the digests of the revision's qcow2 blobs, base first;
	// each one's backing file is the previous one, named by a path
	// relative to it (the blobs sit in one directory).
	Layers      []digest.Digest `json:"layers"`
	VirtualSize int64           `json:"virtualSize"` // disk size the guest sees, in bytes
	Date        time.Time       `json:"date"`
	Owner       string          `json:"owner"`
	Source      string          `json:"source"` // what made it: "import FILE", "resize", "save", "copy of REF"
}

// Latest returns the newest revision, or nil when there is none.
func (v *VM) Latest() *VMRevision {
	if v == nil || len(v.Revisions) == 0 {
		return nil
	}
	return &v.Revisions[len(v.Revisions)-1]
}

// VMLayers is every layer blob the revisions of a VM image use, each once
// (none for a container image).
func (m *Meta) VMLayers() []digest.Digest {
	if m.VM == nil {
		return nil
	}
	var out []digest.Digest
	seen := map[digest.Digest]bool{}
	for _, r := range m.VM.Revisions {
		for _, d := range r.Layers {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

// Revision returns revision rev, or nil.
func (v *VM) Revision(rev int) *VMRevision {
	if v == nil {
		return nil
	}
	for i := range v.Revisions {
		if v.Revisions[i].Rev == rev {
			return &v.Revisions[i]
		}
	}
	return nil
}
