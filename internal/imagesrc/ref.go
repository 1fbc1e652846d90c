package imagesrc

import (
	"context"
	"errors"
	"strings"
)

// Errors of parsing a reference and opening or writing an image, matched
// with errors.Is.
var (
	ErrNoTransport      = errors.New("no transport")
	ErrUnknownTransport = errors.New("unknown transport")
	ErrNotSupported     = errors.New("transport not supported yet")
	ErrBadRef           = errors.New("invalid image reference")
)

// Form says how a transport names an image after "TRANSPORT:".
type Form int

// Forms of references.
const (
	// FileRef is PATH[:REF]: a file, and an image inside it.
	FileRef Form = iota
	// DirRef is PATH[:REF]: a directory, and an image inside it.
	DirRef
	// FileOnly is PATH: a file holding one image (the whole rest is the path).
	FileOnly
	// NameOnly is NAME: an image a service names (docker-daemon:NAME).
	NameOnly
	// URLName is //NAME: an image a service names, written as a URL
	// (docker://NAME); the "//" is required.
	URLName
)

// Transport is one kind of place images are read from and written to: its
// package gives Open and Write, internal/transport lists it.
type Transport struct {
	Name string
	Form Form
	// Open opens the image ref names (ref.Transport is Name).
	Open func(ctx context.Context, ref Ref) (Image, error)
	// Write writes img where ref names (nil: images are not written
	// there). Whatever was there is replaced only once img is whole.
	Write func(ctx context.Context, img Layered, ref Ref) error
}

// Ref is a parsed image source or destination: TRANSPORT:PATH[:REF].
type Ref struct {
	Transport string
	Form      Form   // how Transport names images
	Path      string // file or directory; empty for the NameOnly and URLName forms
	Ref       string // image name or tag inside Path; for NameOnly and URLName, the image name
}

// String gives the reference back in the TRANSPORT:PATH[:REF] form.
func (r Ref) String() string {
	var rest string
	switch r.Form {
	case NameOnly, URLName:
		rest = r.Ref
	default:
		rest = r.Path
		if r.Ref != "" {
			rest += ":" + r.Ref
		}
	}
	if r.Form == URLName || strings.HasPrefix(rest, "//") {
		return r.Transport + "://" + rest // parsing drops one leading "//"
	}
	return r.Transport + ":" + rest
}

// IsFile says whether r names a file (an archive, a SIF): its content
// says what the image is.
func (r Ref) IsFile() bool {
	return r.Form == FileRef || r.Form == FileOnly
}
