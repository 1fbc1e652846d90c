// Package imagesrc reads container images from the places users keep them
// (docker-archive and OCI layouts, as files or directories, a Docker
// engine, a registry, a SIF file) and writes them back. Readers give
// streaming access to the layer blobs: nothing is extracted and nothing is
// copied to a temporary file. Streamed sources (engine, registry) keep
// their blobs in the repository through a Spool; a SIF's squashfs is taken
// as it is.
package imagesrc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/regclient"
)

// Transports.
const (
	DockerArchive = "docker-archive"
	OCI           = "oci"
	OCIArchive    = "oci-archive"
	DockerDaemon  = "docker-daemon"
	Docker        = "docker"
	SIF           = "sif"
)

// Errors returned by ParseRef and Open, matched with errors.Is.
var (
	ErrNoTransport      = errors.New("no transport")
	ErrUnknownTransport = errors.New("unknown transport")
	ErrNotSupported     = errors.New("transport not supported yet")
	ErrBadRef           = regclient.ErrBadRef
)

// Ref is a parsed image source or destination: TRANSPORT:PATH[:REF].
type Ref struct {
	Transport string
	Path      string // file or directory; empty for docker-daemon and docker
	Ref       string // image name or tag inside Path; for docker-daemon/docker, the image name
}

// String gives the reference back in the TRANSPORT:PATH[:REF] form.
func (r Ref) String() string {
	var rest string
	form := r.form()
	switch form {
	case NameOnly, URLName:
		rest = r.Ref
	default:
		rest = r.Path
		if r.Ref != "" {
			rest += ":" + r.Ref
		}
	}
	if form == URLName || strings.HasPrefix(rest, "//") {
		return r.Transport + "://" + rest // ParseRef drops one leading "//"
	}
	return r.Transport + ":" + rest
}

// ParseRef parses TRANSPORT:PATH[:REF] or TRANSPORT://PATH[:REF].
//
// The path ends at the first ':' after the transport, as in skopeo: in
// "docker-archive:my.tar:repo/name:tag" the path is "my.tar" and the REF
// "repo/name:tag". A path holding ':' therefore cannot be named; a link to it
// can. sif: takes the whole rest as its path (it has no REF), docker-daemon:
// and docker:// the whole rest as the image name.
func ParseRef(s string) (Ref, error) {
	transport, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w: want TRANSPORT:PATH, with TRANSPORT one of %s",
			s, ErrNoTransport, strings.Join(Transports(), ", "))
	}
	t, known := Lookup(transport)
	if !known {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w %q (known: %s)",
			s, ErrUnknownTransport, transport, strings.Join(Transports(), ", "))
	}
	if t.Form == URLName && !strings.HasPrefix(rest, "//") {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w: %s", s, ErrBadRef, urlHint(transport, rest))
	}
	rest = strings.TrimPrefix(rest, "//")
	r := Ref{Transport: transport}
	switch t.Form {
	case NameOnly, URLName:
		r.Ref = rest
	case FileOnly:
		r.Path = rest
	default:
		r.Path, r.Ref, ok = strings.Cut(rest, ":")
		if ok && r.Ref == "" {
			return Ref{}, fmt.Errorf("parsing image reference %q: %w: empty name after ':'", s, ErrBadRef)
		}
	}
	if err := r.check(t.Form); err != nil {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	return r, nil
}

// urlHint says how to write a URL-like reference given without its "//".
func urlHint(transport, rest string) string {
	if transport == Docker {
		// skopeo's "docker:" alone is an error too: a registry pull must
		// be asked for, not guessed from a slip for docker-archive: or
		// docker-daemon:.
		return fmt.Sprintf("a registry image is docker://%s; the local Docker engine's is docker-daemon:%s, a saved file docker-archive:FILE", rest, rest)
	}
	return fmt.Sprintf("want %s://%s", transport, rest)
}

func (r Ref) check(form Form) error {
	named := form == NameOnly || form == URLName
	switch {
	case named && r.Ref == "":
		return fmt.Errorf("%w: no image name", ErrBadRef)
	case !named && r.Path == "":
		return fmt.Errorf("%w: no path", ErrBadRef)
	case strings.ContainsAny(r.Path+r.Ref, "\x00\n"):
		return fmt.Errorf("%w: control character", ErrBadRef)
	}
	return nil
}

// form is how r's transport names images (FileRef for an unknown one).
func (r Ref) form() Form {
	t, _ := Lookup(r.Transport)
	return t.Form
}

// IsFile says whether r names a file (an archive, a SIF): its content
// says what the image is.
func (r Ref) IsFile() bool {
	f := r.form()
	return f == FileRef || f == FileOnly
}
