package regclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/mediatype"
)

// Errors of the registry client, matched with errors.Is.
var (
	ErrUnauthorized = errors.New("authentication required")
	ErrDenied       = errors.New("access denied")
	ErrNotFound     = errors.New("not found")
)

// maxJSON bounds the manifests read in memory.
const maxJSON = 32 << 20

// DefaultRetry is the pause before the first retry of a blob download.
const DefaultRetry = 500 * time.Millisecond

// Client speaks the Docker Registry HTTP API v2 / OCI distribution API
// to one repository with net/http: bearer tokens and basic authentication
// answer the registry's challenges.
type Client struct {
	ref   Ref
	http  *http.Client
	creds *credentials
	retry time.Duration // pause before the first retry; doubled after each

	mu   sync.Mutex
	auth string // Authorization header that worked
}

// New returns a client of the repository ref names; retry is the pause
// before the first retry of a blob download (doubled after each).
func New(ref Ref, retry time.Duration) (*Client, error) {
	creds, err := loadCredentials(ref.registry)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &Client{ref: ref, http: &http.Client{Transport: tr}, creds: creds, retry: retry}, nil
}

// Ref is what the client was made for.
func (c *Client) Ref() Ref { return c.ref }

func (c *Client) url(kind, ref string) string {
	scheme := "https"
	if c.ref.insecure {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", scheme, c.ref.host, c.ref.repo, kind, ref)
}

// get sends a GET, answering one authentication challenge.
func (c *Client) get(ctx context.Context, url string, hdr http.Header) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		c.mu.Lock()
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		c.mu.Unlock()
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("cannot reach registry %s: %v", c.ref.registry, dialCause(err))
		}
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp, nil
		}
		ch := parseChallenge(resp.Header.Get("WWW-Authenticate"))
		resp.Body.Close()
		if err := c.authenticate(ctx, ch); err != nil {
			return nil, err
		}
	}
}

func (c *Client) authenticate(ctx context.Context, ch challenge) error {
	var auth string
	switch ch.scheme {
	case "bearer":
		tok, err := c.fetchToken(ctx, ch)
		if err != nil {
			return err
		}
		auth = "Bearer " + tok
	case "basic":
		if c.creds == nil {
			return fmt.Errorf("registry %s: %w for %s: no credentials for it in ~/.docker/config.json", c.ref.registry, ErrUnauthorized, c.ref.repo)
		}
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(c.creds.user, c.creds.pass)
		auth = req.Header.Get("Authorization")
	default:
		return fmt.Errorf("registry %s: %w: unsupported challenge %q", c.ref.registry, ErrUnauthorized, ch.scheme)
	}
	c.mu.Lock()
	c.auth = auth
	c.mu.Unlock()
	return nil
}

// statusError turns an unexpected answer into one line.
func (c *Client) statusError(resp *http.Response, what string) error {
	msg := registryMessage(resp.Body)
	var sentinel error
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		sentinel = ErrUnauthorized
		if c.creds == nil {
			msg += "; no credentials for it in ~/.docker/config.json"
		} else {
			msg += "; the credentials in ~/.docker/config.json were refused"
		}
	case http.StatusForbidden:
		sentinel = ErrDenied
	case http.StatusNotFound:
		sentinel = ErrNotFound
	default:
		return fmt.Errorf("registry %s: getting %s: HTTP %d %s", c.ref.registry, what, resp.StatusCode, msg)
	}
	return fmt.Errorf("registry %s: getting %s: %w (HTTP %d)%s", c.ref.registry, what, sentinel, resp.StatusCode, msg)
}

// registryMessage reads the first message of an error body
// ({"errors":[{"code":..., "message":...}]}).
func registryMessage(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1<<16))
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		return ": " + strings.ToLower(e.Errors[0].Code) + ": " + e.Errors[0].Message
	}
	return ""
}

// Manifest fetches a manifest by tag or digest and checks it against the
// digest when one is known (want, or the one the registry states); it
// returns the manifest and its digest.
func (c *Client) Manifest(ctx context.Context, ref string, want digest.Digest) ([]byte, digest.Digest, error) {
	resp, err := c.get(ctx, c.url("manifests", ref), http.Header{"Accept": {strings.Join(mediatype.Manifests, ", ")}})
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", c.statusError(resp, "manifest "+c.ref.repo+":"+ref)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSON+1))
	if err != nil || len(b) > maxJSON {
		return nil, "", fmt.Errorf("registry %s: reading manifest %s: %v", c.ref.registry, ref, errOr(err, "too large"))
	}
	d := digest.FromBytes(b)
	if h, err := digest.Parse(resp.Header.Get("Docker-Content-Digest")); want == "" && err == nil {
		want = h // pulled by tag: the registry states the digest
	}
	if want != "" && d != want {
		return nil, "", fmt.Errorf("registry %s: manifest %s does not match its digest (got %s)", c.ref.registry, want, d)
	}
	return b, d, nil
}

func errOr(err error, s string) any {
	if err != nil {
		return err
	}
	return s
}

// dialCause drops the URL net/http puts in front of a transport error.
func dialCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
