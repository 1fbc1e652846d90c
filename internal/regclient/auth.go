package regclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// credentials are a user name and password for a registry.
type credentials struct{ user, pass string }

// dockerConfig is the part of ~/.docker/config.json that holds credentials.
type dockerConfig struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auths"`
}

// loadCredentials finds the registry's credentials in $DOCKER_CONFIG/config.json
// or ~/.docker/config.json (what 'docker login' writes). Credential helpers
// (credsStore) are not run.
func loadCredentials(registry string) (*credentials, error) {
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		dir = filepath.Join(home, ".docker")
	}
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading registry credentials: %w", err)
	}
	var c dockerConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("reading registry credentials from %s: %w", p, err)
	}
	for key, a := range c.Auths {
		if authHost(key) != registry && !(registry == dockerHub && authHost(key) == "index.docker.io") {
			continue
		}
		if a.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(dec), ":")
			if err != nil || !ok {
				return nil, fmt.Errorf("reading registry credentials from %s: invalid auth for %q", p, key)
			}
			return &credentials{user, pass}, nil
		}
		if a.Username != "" {
			return &credentials{a.Username, a.Password}, nil
		}
	}
	return nil, nil
}

// authHost reduces a config.json key ("https://index.docker.io/v1/",
// "host:port") to a host.
func authHost(key string) string {
	if u, err := url.Parse(key); err == nil && u.Host != "" {
		return u.Host
	}
	h, _, _ := strings.Cut(key, "/")
	return h
}

// challenge is a parsed WWW-Authenticate header.
type challenge struct {
	scheme string // "bearer" or "basic"
	params map[string]string
}

func parseChallenge(h string) challenge {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	c := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
	for rest != "" {
		var kv string
		kv, rest = cutParam(rest)
		k, v, _ := strings.Cut(kv, "=")
		c.params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return c
}

// cutParam cuts the first key="value" of a challenge, commas in quotes kept.
func cutParam(s string) (string, string) {
	quoted := false
	for i, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// fetchToken gets a bearer token from the realm a challenge names.
func (c *Client) fetchToken(ctx context.Context, ch challenge) (string, error) {
	realm := ch.params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("registry %s: invalid token realm %q", c.ref.registry, realm)
	}
	q := u.Query()
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("scope", "repository:"+c.ref.repo+":pull")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	if c.creds != nil {
		req.SetBasicAuth(c.creds.user, c.creds.pass)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("registry %s: getting a token from %s: %v", c.ref.registry, u.Host, dialCause(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", c.statusError(resp, "a token for "+c.ref.repo)
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&t); err != nil {
		return "", fmt.Errorf("registry %s: decoding the token: %w", c.ref.registry, err)
	}
	if t.Token == "" {
		t.Token = t.AccessToken
	}
	if t.Token == "" {
		return "", fmt.Errorf("registry %s: the token service gave no token", c.ref.registry)
	}
	return t.Token, nil
}
