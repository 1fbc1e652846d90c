// Package etcdtest starts a real etcd for tests, with authentication
// enabled, as the Debian etcd-server package installs it.
package etcdtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// RootPassword is the password of the test server's root user.
const RootPassword = "0123456789abcdef0123456789abcdef"

// Server is a running test etcd.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Host     string
	Port     int
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs etcd in a temporary directory until the test ends, with a root
// user (RootPassword) and auth enabled. It skips the test when etcd is not
// installed.
func Start(t *testing.T) *Server {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (Debian etcd-server): skipping the etcd test")
	}
	cp, pp := freePort(t), freePort(t)
	curl := "http://127.0.0.1:" + strconv.Itoa(cp)
	purl := "http://127.0.0.1:" + strconv.Itoa(pp)
	cmd := exec.Command(bin, "--name", "t", "--data-dir", t.TempDir(),
		"--listen-client-urls", curl, "--advertise-client-urls", curl,
		"--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
		"--initial-cluster", "t="+purl, "--log-level", "error")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := enableAuth(curl); err != nil {
		t.Fatalf("etcd at %s: %v", curl, err)
	}
	return &Server{Endpoint: curl, Host: "127.0.0.1", Port: cp}
}

// enableAuth waits for the server, then creates root and enables auth.
func enableAuth(url string) error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 20 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, err = c.Status(ctx, url); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	if _, err := c.UserAdd(ctx, "root", RootPassword); err != nil {
		return err
	}
	if _, err := c.UserGrantRole(ctx, "root", "root"); err != nil {
		return err
	}
	_, err = c.AuthEnable(ctx)
	return err
}
