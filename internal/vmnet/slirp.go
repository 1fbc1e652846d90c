package vmnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// addHostFwd asks slirp4netns (its API socket) to forward a free host
// loopback port (in [min, max], or any when max is 0) to nsPort of the
// namespace; returns the host port. A port taken between the probe and
// slirp's bind is retried with another.
func addHostFwd(ctx context.Context, sock string, nsPort, min, max int) (int, error) {
	next := func() (int, error) { return freePort() }
	tries := 5
	if max != 0 {
		p := min
		tries = max - min + 1
		next = func() (int, error) {
			for ; p <= max; p++ {
				if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
					l.Close()
					p++
					return p - 1, nil
				}
			}
			return 0, fmt.Errorf("no free loopback port in %d-%d", min, max)
		}
	}
	var last error
	for try := 0; try < tries; try++ {
		port, err := next()
		if err != nil {
			return 0, err
		}
		req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
			"proto": "tcp", "host_addr": "127.0.0.1", "host_port": port,
			"guest_addr": uplinkAddr, "guest_port": nsPort}}
		if last = slirpCall(ctx, sock, req); last == nil {
			return port, nil
		}
	}
	return 0, last
}

func slirpCall(ctx context.Context, sock string, req any) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	// slirp4netns answers one JSON object, then closes.
	var resp struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return fmt.Errorf("slirp4netns API: reading its answer: %w", err)
	}
	if resp.Error != nil {
		return errors.New("slirp4netns: " + strings.TrimSpace(resp.Error.Desc))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
