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

// Transports lists every transport ParseRef knows, in the order error
// messages give them.
var Transports = []string{DockerArchive, OCI, OCIArchive, DockerDaemon, Docker, SIF}

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
	switch r.Transport {
	case DockerDaemon, Docker:
		rest = r.Ref
	default:
		rest = r.Path
		if r.Ref != "" {
			rest += ":" + r.Ref
		}
	}
	if r.Transport == Docker || strings.HasPrefix(rest, "//") {
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
			s, ErrNoTransport, strings.Join(Transports, ", "))
	}
	if !known(transport) {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w %q (known: %s)",
			s, ErrUnknownTransport, transport, strings.Join(Transports, ", "))
	}
	if transport == Docker && !strings.HasPrefix(rest, "//") {
		// skopeo's "docker:" alone is an error too: a registry pull must
		// be asked for, not guessed from a slip for docker-archive: or
		// docker-daemon:.
		return Ref{}, fmt.Errorf("parsing image reference %q: %w: a registry image is docker://%s; the local Docker engine's is docker-daemon:%s, a saved file docker-archive:FILE",
			s, ErrBadRef, rest, rest)
	}
	rest = strings.TrimPrefix(rest, "//")
	r := Ref{Transport: transport}
	switch transport {
	case DockerDaemon, Docker:
		r.Ref = rest
	case SIF:
		r.Path = rest
	default:
		r.Path, r.Ref, ok = strings.Cut(rest, ":")
		if ok && r.Ref == "" {
			return Ref{}, fmt.Errorf("parsing image reference %q: %w: empty name after ':'", s, ErrBadRef)
		}
	}
	if err := r.check(); err != nil {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	return r, nil
}

func (r Ref) check() error {
	switch {
	case (r.Transport == DockerDaemon || r.Transport == Docker) && r.Ref == "":
		return fmt.Errorf("%w: no image name", ErrBadRef)
	case r.Transport != DockerDaemon && r.Transport != Docker && r.Path == "":
		return fmt.Errorf("%w: no path", ErrBadRef)
	case strings.ContainsAny(r.Path+r.Ref, "\x00\n"):
		return fmt.Errorf("%w: control character", ErrBadRef)
	}
	return nil
}

func known(t string) bool {
	for _, k := range Transports {
		if k == t {
			return true
		}
	}
	return false
}
