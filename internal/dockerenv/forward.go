package dockerenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Dialer opens a connection to the engine's socket in the VM.
type Dialer func() (net.Conn, error)

// Listen makes the job's socket directory (0700: only the owner reaches
// the engine) and listens on its socket.
func Listen(jobDir string) (net.Listener, error) {
	if err := os.Mkdir(SocketDir(jobDir), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	if err := os.Chmod(SocketDir(jobDir), 0o700); err != nil {
		return nil, err
	}
	return net.Listen("unix", SocketPath(jobDir))
}

// Serve forwards each connection of ln to a new connection from dial until
// ln is closed.
func Serve(ln net.Listener, dial Dialer) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go pipe(c, dial)
	}
}

func pipe(c net.Conn, dial Dialer) {
	defer c.Close()
	g, err := dial()
	if err != nil {
		return
	}
	defer g.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(g, c); closeWrite(g) }()
	go func() { defer wg.Done(); io.Copy(c, g); closeWrite(c) }()
	wg.Wait()
}

// closeWrite passes an end of input on (the docker CLI's attach relies on it).
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	} else {
		c.Close()
	}
}

// WaitEngine asks the engine's /_ping through dial until it answers OK, for
// timeout at most.
func WaitEngine(ctx context.Context, dial Dialer, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{
		DialContext:       func(context.Context, string, string) (net.Conn, error) { return dial() },
		DisableKeepAlives: true,
	}, Timeout: 20 * time.Second}
	last := errors.New("no answer")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		resp, err := hc.Do(req)
		if err == nil {
			b, _ := io.ReadAll(bufio.NewReader(io.LimitReader(resp.Body, 64)))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		if ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return ctx.Err()
			}
			return fmt.Errorf("the Docker engine did not answer within %s (last: %v)", timeout, last)
		case <-time.After(time.Second):
		}
	}
}
