// Package regclient is a client of the Docker Registry HTTP API v2 / OCI
// distribution API, on net/http: it parses docker:// image names as docker
// does, answers the registry's bearer-token and basic challenges with the
// credentials of ~/.docker/config.json, and downloads manifests and blobs,
// resuming a blob download that was cut.
package regclient

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
)

// Registry settings read from the environment.
const (
	EnvDefaultRegistry    = "PCOCC_DEFAULT_REGISTRY"    // host[:port] of names without a registry; default docker.io
	EnvInsecureRegistries = "PCOCC_INSECURE_REGISTRIES" // host:port,... spoken to over plain HTTP
)

const (
	dockerHub    = "docker.io"
	dockerHubAPI = "registry-1.docker.io"
)

// Ref is a parsed docker:// reference.
type Ref struct {
	registry string // as written (or the default), for messages and credentials
	host     string // where the API is
	repo     string
	tag      string
	digest   digest.Digest
	insecure bool // plain HTTP
}

func (r Ref) String() string {
	s := r.registry + "/" + r.repo
	if r.digest != "" {
		return s + "@" + string(r.digest)
	}
	return s + ":" + r.tag
}

// Registry is the registry as written (or the default one).
func (r Ref) Registry() string { return r.registry }

// Digest is the digest the name pins, or "".
func (r Ref) Digest() digest.Digest { return r.digest }

// Reference is the tag or digest to ask the registry for.
func (r Ref) Reference() string {
	if r.digest != "" {
		return string(r.digest)
	}
	return r.tag
}

var (
	repoRe = lazyRegexp(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRe  = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ErrBadRef is the error of ParseRef, matched with errors.Is.
var ErrBadRef = errors.New("invalid image reference")

// ParseRef parses [REGISTRY/]REPO[:TAG|@DIGEST] as docker does: the
// first component names a registry when it has a '.' or a ':' or is
// localhost.
func ParseRef(s string) (Ref, error) {
	var r Ref
	rest := s
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		pinned := rest[i+1:]
		d, err := digest.Parse(pinned)
		if err != nil {
			return r, fmt.Errorf("%w: invalid digest %q", ErrBadRef, pinned)
		}
		rest, r.digest = rest[:i], d
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		rest, r.tag = rest[:i], rest[i+1:]
		if !tagRe().MatchString(r.tag) {
			return r, fmt.Errorf("%w: invalid tag %q", ErrBadRef, r.tag)
		}
	}
	if r.tag == "" && r.digest == "" {
		r.tag = "latest"
	}
	first, path, ok := strings.Cut(rest, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.registry, r.repo = first, path
	} else {
		r.registry, r.repo = defaultRegistry(), rest
	}
	r.host = r.registry
	if r.registry == dockerHub || r.registry == "index.docker.io" {
		r.host = dockerHubAPI
		if !strings.Contains(r.repo, "/") {
			r.repo = "library/" + r.repo
		}
	}
	if !repoRe().MatchString(r.repo) {
		return r, fmt.Errorf("%w: invalid repository name %q", ErrBadRef, r.repo)
	}
	r.insecure = insecureRegistry(r.registry)
	return r, nil
}

func defaultRegistry() string {
	if d := strings.TrimSpace(os.Getenv(EnvDefaultRegistry)); d != "" {
		return strings.TrimSuffix(d, "/")
	}
	return dockerHub
}

// insecureRegistry says whether to use plain HTTP: for the registries
// PCOCC_INSECURE_REGISTRIES lists, and for loopback addresses (as docker
// does), where the traffic does not leave the machine.
func insecureRegistry(reg string) bool {
	list := strings.Split(os.Getenv(EnvInsecureRegistries), ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	if slices.Contains(list, reg) {
		return true
	}
	host := reg
	if h, _, err := net.SplitHostPort(reg); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
