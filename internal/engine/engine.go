// Package engine is a client of the Docker Engine HTTP API (no docker CLI):
// it inspects an image, streams it out as a docker-archive (save) and loads
// one in (load). It reaches the engine DOCKER_HOST names, as the docker CLI
// does.
package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
)

// DefaultDockerHost is where the Docker engine listens when DOCKER_HOST is
// not set.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// Errors of the client, matched with errors.Is.
var (
	ErrUnreachable = errors.New("cannot reach the Docker engine")
	ErrNotFound    = errors.New("no such image in the Docker engine")
)

// maxJSON bounds the engine's answers read in memory.
const maxJSON = 32 << 20

// Client talks to a Docker engine.
type Client struct {
	client *http.Client
	base   string // URL prefix of the API
	where  string // DOCKER_HOST as the user would recognise it, for messages
}

// New returns a client for the engine DOCKER_HOST names (unix:// or
// tcp://, with TLS when DOCKER_TLS_VERIFY or DOCKER_CERT_PATH is set), else
// for /var/run/docker.sock.
func New() (*Client, error) {
	host := os.Getenv("DOCKER_HOST")
	where := host
	if host == "" {
		host, where = DefaultDockerHost, DefaultDockerHost+" (DOCKER_HOST is not set)"
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("parsing DOCKER_HOST %q: %w", host, err)
	}
	tr := &http.Transport{Proxy: nil, DisableCompression: true}
	e := &Client{client: &http.Client{Transport: tr}, where: where}
	switch u.Scheme {
	case "unix":
		sock := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}
		e.base = "http://docker"
	case "tcp":
		tlsConf, err := engineTLS()
		if err != nil {
			return nil, err
		}
		e.base = "http://" + u.Host
		if tlsConf != nil {
			tr.TLSClientConfig = tlsConf
			e.base = "https://" + u.Host
		}
	default:
		return nil, fmt.Errorf("DOCKER_HOST %q: only unix:// and tcp:// are supported", host)
	}
	return e, nil
}

// engineTLS returns the TLS configuration DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH ask for, or nil for plain HTTP. As the docker CLI does,
// the server is verified only with DOCKER_TLS_VERIFY.
func engineTLS() (*tls.Config, error) {
	verify := os.Getenv("DOCKER_TLS_VERIFY") != ""
	dir := os.Getenv("DOCKER_CERT_PATH")
	if !verify && dir == "" {
		return nil, nil
	}
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".docker")
	}
	conf := &tls.Config{InsecureSkipVerify: !verify, MinVersion: tls.VersionTLS12} //nolint:gosec // the docker CLI's behaviour without DOCKER_TLS_VERIFY
	if ca, err := os.ReadFile(filepath.Join(dir, "ca.pem")); err == nil {
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("reading %s: no certificate", filepath.Join(dir, "ca.pem"))
		}
	} else if verify {
		return nil, fmt.Errorf("reading the Docker engine's CA (DOCKER_CERT_PATH): %w", err)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err == nil {
		conf.Certificates = []tls.Certificate{cert}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the Docker client certificate (DOCKER_CERT_PATH): %w", err)
	}
	return conf, nil
}

// Where says which engine this client talks to.
func (e *Client) Where() string { return e.where }

func (e *Client) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-tar")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, e.where, dialCause(err))
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, &engineError{status: resp.StatusCode, msg: apiMessage(resp.Body)}
	}
	return resp, nil
}

// dialCause drops the URL net/http puts in front of a transport error (a
// made-up host for a unix socket).
func dialCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

type engineError struct {
	status int
	msg    string
}

func (e *engineError) Error() string {
	return fmt.Sprintf("the Docker engine answers: %s (HTTP %d)", e.msg, e.status)
}

// apiMessage reads the {"message": ...} of an API error.
func apiMessage(r io.Reader) string {
	var m struct{ Message string }
	b, _ := io.ReadAll(io.LimitReader(r, 1<<16))
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return m.Message
	}
	return strings.TrimSpace(string(b))
}

// Image is what the engine says of an image (GET /images/NAME/json).
type Image struct {
	ID     digest.Digest `json:"Id"`
	Size   int64         `json:"Size"`
	RootFS struct {
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
}

// Inspect describes the image name (a name or an ID) the engine holds; an
// image it does not hold is ErrNotFound.
func (e *Client) Inspect(ctx context.Context, name string) (*Image, error) {
	resp, err := e.do(ctx, http.MethodGet, "/images/"+escapeName(name)+"/json", nil)
	var ee *engineError
	if errors.As(err, &ee) && ee.status == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %q (engine at %s)", ErrNotFound, name, e.where)
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var img Image
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSON)).Decode(&img); err != nil {
		return nil, fmt.Errorf("decoding the engine's description of %q: %w", name, err)
	}
	if img.ID.Validate() != nil {
		return nil, fmt.Errorf("the engine gives %q an invalid ID %q", name, img.ID)
	}
	return &img, nil
}

// Save streams the image as a docker-archive (GET /images/ID/get).
func (e *Client) Save(ctx context.Context, id digest.Digest) (io.ReadCloser, error) {
	resp, err := e.do(ctx, http.MethodGet, "/images/"+escapeName(string(id))+"/get", nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Load loads a docker-archive stream into the engine (POST /images/load).
func (e *Client) Load(ctx context.Context, archive io.Reader) error {
	resp, err := e.do(ctx, http.MethodPost, "/images/load?quiet=1", archive)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// The answer is a stream of JSON messages; an error comes as one of them.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &m) == nil && m.Error != "" {
			return fmt.Errorf("the Docker engine answers: %s", m.Error)
		}
	}
	return sc.Err()
}

// Ping checks that the engine answers.
func (e *Client) Ping(ctx context.Context) error {
	resp, err := e.do(ctx, http.MethodGet, "/_ping", nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Remove deletes the image name from the engine.
func (e *Client) Remove(ctx context.Context, name string) error {
	resp, err := e.do(ctx, http.MethodDelete, "/images/"+escapeName(name), nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// escapeName escapes an image name for a URL path; the engine's router
// wants the slashes of "repo/name:tag" as they are.
func escapeName(name string) string {
	return strings.ReplaceAll(url.PathEscape(name), "%2F", "/")
}
