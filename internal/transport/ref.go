package transport

import (
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport/registry"
)

// ParseRef parses TRANSPORT:PATH[:REF] or TRANSPORT://PATH[:REF].
//
// The path ends at the first ':' after the transport, as in skopeo: in
// "docker-archive:my.tar:repo/name:tag" the path is "my.tar" and the REF
// "repo/name:tag". A path holding ':' therefore cannot be named; a link to it
// can. A FileOnly transport (sif:) takes the whole rest as its path, a
// NameOnly or URLName one (docker-daemon:, docker://) as the image name.
func ParseRef(s string) (imagesrc.Ref, error) {
	name, rest, ok := strings.Cut(s, ":")
	if !ok {
		return imagesrc.Ref{}, fmt.Errorf("parsing image reference %q: %w: want TRANSPORT:PATH, with TRANSPORT one of %s",
			s, imagesrc.ErrNoTransport, strings.Join(Names(), ", "))
	}
	t, known := Lookup(name)
	if !known {
		return imagesrc.Ref{}, fmt.Errorf("parsing image reference %q: %w %q (known: %s)",
			s, imagesrc.ErrUnknownTransport, name, strings.Join(Names(), ", "))
	}
	if t.Form == imagesrc.URLName && !strings.HasPrefix(rest, "//") {
		return imagesrc.Ref{}, fmt.Errorf("parsing image reference %q: %w: %s", s, imagesrc.ErrBadRef, urlHint(name, rest))
	}
	rest = strings.TrimPrefix(rest, "//")
	r := imagesrc.Ref{Transport: name, Form: t.Form}
	switch t.Form {
	case imagesrc.NameOnly, imagesrc.URLName:
		r.Ref = rest
	case imagesrc.FileOnly:
		r.Path = rest
	default:
		r.Path, r.Ref, ok = strings.Cut(rest, ":")
		if ok && r.Ref == "" {
			return imagesrc.Ref{}, fmt.Errorf("parsing image reference %q: %w: empty name after ':'", s, imagesrc.ErrBadRef)
		}
	}
	if err := check(r); err != nil {
		return imagesrc.Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	return r, nil
}

// urlHint says how to write a URL-like reference given without its "//".
func urlHint(name, rest string) string {
	if name == registry.Name {
		// skopeo's "docker:" alone is an error too: a registry pull must
		// be asked for, not guessed from a slip for docker-archive: or
		// docker-daemon:.
		return fmt.Sprintf("a registry image is docker://%s; the local Docker engine's is docker-daemon:%s, a saved file docker-archive:FILE", rest, rest)
	}
	return fmt.Sprintf("want %s://%s", name, rest)
}

func check(r imagesrc.Ref) error {
	named := r.Form == imagesrc.NameOnly || r.Form == imagesrc.URLName
	switch {
	case named && r.Ref == "":
		return fmt.Errorf("%w: no image name", imagesrc.ErrBadRef)
	case !named && r.Path == "":
		return fmt.Errorf("%w: no path", imagesrc.ErrBadRef)
	case strings.ContainsAny(r.Path+r.Ref, "\x00\n"):
		return fmt.Errorf("%w: control character", imagesrc.ErrBadRef)
	}
	return nil
}
