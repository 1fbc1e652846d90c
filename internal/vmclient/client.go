// Package vmclient talks to a cluster's VMs over SSH, through the host
// loopback port that the cluster network (vmnet) forwards to each VM's port
// 22: run a command or a shell, copy files (the scp protocol), open a
// connection to a port of the VM (nc), wait for sshd to answer.
package vmclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config says how to reach a VM.
type Config struct {
	Addr string     // 127.0.0.1:PORT, the forward of the VM's port 22
	User string     // the login
	Key  ssh.Signer // the user's key (LoadKey)
	// HostKey is the VM's host key (its cloud-init seed gives it one);
	// nil accepts any: the port is the user's own loopback forward.
	HostKey ssh.PublicKey
	// DialTimeout bounds each attempt (default 10s).
	DialTimeout time.Duration
	// KeyExchanges limits the key exchanges offered (default: the
	// library's): an emulated guest spends a minute on a post-quantum one.
	KeyExchanges []string
}

// Client is an SSH connection to a VM.
type Client struct {
	ssh *ssh.Client
}

// LoadKey reads an unencrypted private key (OpenSSH or PEM format).
func LoadKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the SSH key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("SSH key %s: %w", path, err)
	}
	return s, nil
}

// Dial connects and authenticates once.
func Dial(ctx context.Context, c Config) (*Client, error) {
	if c.Key == nil {
		return nil, errors.New("ssh: no key to log in with")
	}
	timeout := c.DialTimeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	hostKey := ssh.InsecureIgnoreHostKey()
	if c.HostKey != nil {
		hostKey = ssh.FixedHostKey(c.HostKey)
	}
	cfg := &ssh.ClientConfig{
		User:            c.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(c.Key)},
		HostKeyCallback: hostKey,
		Timeout:         timeout,
	}
	cfg.KeyExchanges = c.KeyExchanges
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, err
	}
	// The handshake also honours ctx and the timeout.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(timeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, c.Addr, cfg)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return &Client{ssh: ssh.NewClient(sc, chans, reqs)}, nil
}

// WaitSSH dials until the VM's sshd lets the user in (a booting VM refuses
// or resets connections, or does not know the key yet), for timeout at most.
func WaitSSH(ctx context.Context, c Config, timeout time.Duration) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		cl, err := Dial(ctx, c)
		if err == nil {
			return cl, nil
		}
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			last = err
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			return nil, fmt.Errorf("ssh %s@%s: not ready after %s: %v", c.User, c.Addr, timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Close ends the connection.
func (c *Client) Close() error { return c.ssh.Close() }

// DialGuest opens a TCP connection to port of the VM itself (through sshd).
func (c *Client) DialGuest(port int) (net.Conn, error) {
	return c.ssh.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
}

// DialUnix opens a connection to a unix socket of the VM (OpenSSH's
// direct-streamlocal channel; the VM's sshd allows it by default), as the
// logged-in user: the Docker environment reaches the engine's socket so.
func (c *Client) DialUnix(path string) (net.Conn, error) {
	return c.ssh.Dial("unix", path)
}

// Alive asks the VM's sshd for an answer (OpenSSH's keepalive request),
// within timeout: a connection whose VM is gone may never be reset.
func (c *Client) Alive(timeout time.Duration) error {
	done := make(chan error, 1)
	go func() {
		_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		c.ssh.Close()
		return fmt.Errorf("ssh: no answer within %s", timeout)
	}
}
