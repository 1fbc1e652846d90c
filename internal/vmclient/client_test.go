package vmclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vmnet"
	"github.com/pcocc/pcocc/internal/vmnet/vmnettest"
	"golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	vmnettest.Run()
	code := m.Run()
	if netStop != nil { // the network and the VM, started by the first test
		netStop()
	}
	os.Exit(code)
}

// sshdPath: PCOCC_TEST_SSHD (scripts/run-e2e.sh unpacks openssh-server's
// sshd when it is not installed), else the installed one.
func sshdPath(t *testing.T) string {
	if p := os.Getenv("PCOCC_TEST_SSHD"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("PCOCC_TEST_SSHD: %v", err)
		}
		return p
	}
	for _, p := range []string{"/usr/sbin/sshd", "/sbin/sshd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no sshd: install openssh-server or set PCOCC_TEST_SSHD (scripts/run-e2e.sh does)")
	return ""
}

// vm is a stand-in VM running a real sshd (as the user, in a user
// namespace of its own inside the VM's network namespace), reached like a
// VM through the cluster network's reverse NAT.
type vm struct {
	cfg  Config
	dir  string // shared with the "guest": the same file system
	out  *syncBuf
	done chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var (
	theVM   *vm
	theErr  error
	vmOnce  sync.Once
	netStop func()
)

// startVM starts the network and the VM once for all the tests.
func startVM(t *testing.T) *vm {
	t.Helper()
	if os.Getuid() == 0 {
		t.Skip("sshd as root in a user namespace wants privilege separation users: run as a user (scripts/run-e2e.sh does)")
	}
	sshd := sshdPath(t)
	vmOnce.Do(func() { theVM, theErr = newVM(sshd) })
	if theErr != nil {
		t.Fatal(theErr)
	}
	return theVM
}

func newVM(sshd string) (*vm, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("/tmp", "vmclient-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o700)
	clientKey, clientPub := newKey(filepath.Join(dir, "id"))
	_, hostPub := newKey(filepath.Join(dir, "host_key"))
	os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(fmt.Sprintf(`Port 22
ListenAddress 0.0.0.0
HostKey %[1]s/host_key
PidFile none
AuthorizedKeysFile %[1]s/authorized_keys
StrictModes no
UsePAM no
AllowTcpForwarding yes
`, dir)), 0o600)
	p, err := vmnet.NewPlan(vmnet.Spec{VMs: []vmnet.VMSpec{{}}})
	if err != nil {
		return nil, err
	}
	netDir := filepath.Join(dir, "net")
	os.Mkdir(netDir, 0o700)
	n, err := vmnet.Start(context.Background(), p, vmnet.Options{Dir: netDir, Holder: vmnettest.Holder()})
	if err != nil {
		return nil, err
	}
	port, _ := n.HostPort("vm0", 22)
	v := &vm{dir: dir, out: &syncBuf{}, done: make(chan error, 1),
		cfg: Config{Addr: fmt.Sprintf("127.0.0.1:%d", port), User: u.Username, Key: clientKey, HostKey: hostPub}}
	// The guest: an address, an echo server on 7777, sshd on 22 running as
	// the user (as root in the namespace it would want its privsep user).
	cmd := vmnettest.Command(n, p.VMs[0], vmnettest.GuestDHCP+fmt.Sprintf(`
echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start
busybox nc -ll -p 7777 -e cat &
exec unshare --user --map-user=%d --map-group=%d %s -D -e -f %s/sshd_config
`, os.Getuid(), os.Getgid(), sshd, dir))
	cmd.Stdout, cmd.Stderr = v.out, v.out
	if err := cmd.Start(); err != nil {
		n.Close()
		return nil, err
	}
	go func() { v.done <- cmd.Wait() }()
	netStop = func() {
		n.Close()
		<-v.done
		os.RemoveAll(dir)
	}
	return v, nil
}

// newKey makes an ed25519 key pair, the private key in an OpenSSH file.
func newKey(path string) (ssh.Signer, ssh.PublicKey) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
	s, _ := ssh.NewSignerFromKey(priv)
	return s, s.PublicKey()
}

func ready(t *testing.T) (*vm, *Client) {
	v := startVM(t)
	c, err := WaitSSH(context.Background(), v.cfg, 90*time.Second)
	if err != nil {
		t.Fatalf("%v\nguest:\n%s", err, v.out.String())
	}
	t.Cleanup(func() { c.Close() })
	return v, c
}

func run(t *testing.T, c *Client, cmd, stdin string) (int, string) {
	t.Helper()
	var out syncBuf // both are written at once: one locked writer
	code, err := c.Run(context.Background(), cmd, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return code, out.String()
}

func TestRun(t *testing.T) {
	v, c := ready(t)
	if code, out := run(t, c, "id -un; echo ok", ""); code != 0 || out != v.cfg.User+"\nok\n" {
		t.Errorf("id -un: %d %q", code, out)
	}
	if code, out := run(t, c, "cat; echo done", "from stdin\n"); code != 0 || out != "from stdin\ndone\n" {
		t.Errorf("cat: %d %q", code, out)
	}
	if code, _ := run(t, c, "exit 3", ""); code != 3 {
		t.Errorf("exit 3: %d", code)
	}
	if code, _ := run(t, c, "kill -TERM $$", ""); code != 143 {
		t.Errorf("killed by SIGTERM: %d, want 143", code)
	}
}

func TestRunCancel(t *testing.T) {
	_, c := ready(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, "sleep 30", IO{})
	if err != context.DeadlineExceeded || time.Since(start) > 10*time.Second {
		t.Errorf("cancelled run: %v after %s", err, time.Since(start))
	}
}

func TestCopy(t *testing.T) {
	v, c := ready(t)
	ctx := context.Background()
	local := t.TempDir()
	os.MkdirAll(filepath.Join(local, "tree", "sub"), 0o755)
	os.WriteFile(filepath.Join(local, "tree", "a"), []byte("file a\n"), 0o640)
	os.WriteFile(filepath.Join(local, "tree", "sub", "b"), bytes.Repeat([]byte("b"), 100000), 0o755)
	remote := filepath.Join(v.dir, "remote")
	os.Mkdir(remote, 0o755)
	if err := c.Upload(ctx, filepath.Join(local, "tree", "a"), remote+"/a1", false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(remote + "/a1"); string(b) != "file a\n" {
		t.Errorf("uploaded file: %q", b)
	}
	if err := c.Upload(ctx, filepath.Join(local, "tree"), remote, false); err == nil || !strings.Contains(err.Error(), "with -r") {
		t.Errorf("a directory without -r: %v", err)
	}
	if err := c.Upload(ctx, filepath.Join(local, "tree"), remote, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(remote + "/tree/sub/b"); len(b) != 100000 {
		t.Errorf("uploaded tree: sub/b has %d bytes", len(b))
	}
	back := filepath.Join(local, "back")
	if err := c.Download(ctx, remote+"/tree", back, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(back, "a")); string(b) != "file a\n" {
		t.Errorf("downloaded tree: a is %q", b)
	}
	if st, err := os.Stat(filepath.Join(back, "sub", "b")); err != nil || st.Size() != 100000 || st.Mode().Perm() != 0o755 {
		t.Errorf("downloaded tree: sub/b %v %v", st, err)
	}
	if err := c.Download(ctx, remote+"/a1", local, false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(local, "a1")); string(b) != "file a\n" {
		t.Errorf("downloaded into a directory: %q", b)
	}
	err := c.Download(ctx, remote+"/missing", local, false)
	if err == nil || !strings.Contains(err.Error(), "No such file") {
		t.Errorf("a missing remote file: %v", err)
	}
}

func TestNetcat(t *testing.T) {
	_, c := ready(t)
	var conn net.Conn
	var err error
	for i := 0; i < 50; i++ { // the echo server may start after sshd
		if conn, err = c.DialGuest(7777); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Netcat(context.Background(), conn, strings.NewReader("echo me\n"), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "echo me\n" {
		t.Errorf("nc: %q", out.String())
	}
}

func TestWrongHostKey(t *testing.T) {
	v, _ := ready(t)
	cfg := v.cfg
	_, cfg.HostKey = newKey(filepath.Join(t.TempDir(), "other"))
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "host key mismatch") {
		t.Errorf("another host key: %v", err)
	}
	cfg = v.cfg
	cfg.Key, _ = newKey(filepath.Join(t.TempDir(), "other"))
	if _, err := Dial(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("a key the VM does not know: %v", err)
	}
}

func TestWaitSSHTimeout(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	k, _ := newKey(filepath.Join(t.TempDir(), "k"))
	start := time.Now()
	_, err := WaitSSH(context.Background(), Config{Addr: addr, User: "u", Key: k}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "not ready after 1s") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("WaitSSH of a closed port: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("WaitSSH took %s", d)
	}
}

func TestLoadKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "id")
	_, pub := newKey(p)
	s, err := LoadKey(p)
	if err != nil || !bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
		t.Errorf("LoadKey: %v", err)
	}
	os.WriteFile(p, []byte("junk"), 0o600)
	if _, err := LoadKey(p); err == nil || !strings.Contains(err.Error(), "SSH key "+p) {
		t.Errorf("a bad key: %v", err)
	}
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"C0644 12 name\n", true},
		{"C0644 12 name with spaces\n", true},
		{"C0644 12 ../up\n", false},
		{"C0644 12 ..\n", false},
		{"C0644 12 a/b\n", false},
		{"C0644 -1 a\n", false},
		{"C0x44 1 a\n", false},
		{"C0644 1\n", false},
	} {
		_, _, _, err := parseHeader(tc.line)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.line, err)
		}
	}
}

// Alive: sshd answers while the connection lives, not after it is closed.
func TestAlive(t *testing.T) {
	_, c := ready(t)
	if err := c.Alive(10 * time.Second); err != nil {
		t.Fatalf("a live connection: %v", err)
	}
	c.Close()
	if err := c.Alive(10 * time.Second); err == nil {
		t.Error("a closed connection answered")
	}
}
