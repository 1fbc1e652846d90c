package vmcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/sshkeys"
	"github.com/pcocc/pcocc/internal/vmclient"
	"github.com/pcocc/pcocc/internal/vmjob"
	"github.com/pcocc/pcocc/internal/vmnet"
	"github.com/pcocc/pcocc/internal/vmnet/vmnettest"
)

// asPcoccVM makes the test binary act as pcocc-vm: ssh's proxy command
// runs os.Executable() nc ..., which is this binary in the tests.
const asPcoccVM = "VMCLI_TEST_AS_PCOCC_VM"

func TestMain(m *testing.M) {
	vmnettest.Run()
	if os.Getenv(asPcoccVM) == "1" {
		os.Exit(Main(os.Args))
	}
	if base := os.Getenv(asJob); base != "" {
		os.Exit(actAsJob(base))
	}
	code := m.Run()
	if standIn.stop != nil {
		standIn.stop()
	}
	os.Exit(code)
}

// standIn is a VM stand-in running a real sshd (as the user, in a user
// namespace inside the VM's network namespace, as internal/vmclient's tests
// do) behind a real cluster network; it trusts the user's pcocc key.
var standIn struct {
	once    sync.Once
	err     error
	home    string // HOME of the commands: holds the pcocc key
	hostKey string // its public host key, authorized_keys format
	port    int    // host loopback port forwarded to its port 22
	out     bytes.Buffer
	stop    func()
}

func sshdPath(t *testing.T) string {
	if p := os.Getenv("PCOCC_TEST_SSHD"); p != "" {
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

func startStandIn(t *testing.T) {
	t.Helper()
	if os.Getuid() == 0 {
		t.Skip("sshd in a user namespace wants to run as a user (scripts/run-e2e.sh runs this as one)")
	}
	sshd := sshdPath(t)
	standIn.once.Do(func() { standIn.err = newStandIn(sshd) })
	if standIn.err != nil {
		t.Fatal(standIn.err)
	}
}

func newStandIn(sshd string) error {
	dir, err := os.MkdirTemp("/tmp", "vmcli-")
	if err != nil {
		return err
	}
	os.Chmod(dir, 0o700)
	standIn.home = filepath.Join(dir, "home")
	pair, err := sshkeys.Ensure(sshkeys.DefaultDir(func(k string) string {
		return map[string]string{"HOME": standIn.home}[k]
	}), "pcocc")
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(pair.Authorized+"\n"), 0o600)
	hostKey := filepath.Join(dir, "host_key")
	hk, err := sshkeys.Ensure(filepath.Join(dir, "hk"), "host")
	if err != nil {
		return err
	}
	standIn.hostKey = hk.Authorized
	if err := os.Rename(hk.Private, hostKey); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(fmt.Sprintf(`Port 22
ListenAddress 0.0.0.0
HostKey %[1]s
PidFile none
AuthorizedKeysFile %[2]s/authorized_keys
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
`, hostKey, dir)), 0o600)
	p, err := vmnet.NewPlan(vmnet.Spec{VMs: []vmnet.VMSpec{{}}})
	if err != nil {
		return err
	}
	netDir := filepath.Join(dir, "net")
	os.Mkdir(netDir, 0o700)
	n, err := vmnet.Start(context.Background(), p, vmnet.Options{Dir: netDir, Holder: vmnettest.Holder()})
	if err != nil {
		return err
	}
	standIn.port, _ = n.HostPort("vm0", 22)
	cmd := vmnettest.Command(n, p.VMs[0], vmnettest.GuestDHCP+fmt.Sprintf(`
echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start
exec unshare --user --map-user=%d --map-group=%d %s -D -e -f %s/sshd_config
`, os.Getuid(), os.Getgid(), sshd, dir))
	cmd.Stdout, cmd.Stderr = &standIn.out, &standIn.out
	if err := cmd.Start(); err != nil {
		n.Close()
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	standIn.stop = func() { n.Close(); <-done; os.RemoveAll(dir) }
	// Wait for sshd, with the key the commands use.
	key, err := vmclient.LoadKey(pair.Private)
	if err != nil {
		return err
	}
	u, _ := user.Current()
	c, err := vmclient.WaitSSH(context.Background(), vmclient.Config{Addr: fmt.Sprintf("127.0.0.1:%d", standIn.port),
		User: u.Username, Key: key}, 90*time.Second)
	if err != nil {
		return fmt.Errorf("%v\nguest:\n%s", err, standIn.out.String())
	}
	return c.Close()
}

// newJob makes a live cluster of n VMs, all of them the stand-in, and the
// env of a command of the user's.
func newJob(t *testing.T, n int) (*env, *bytes.Buffer, *bytes.Buffer) {
	startStandIn(t)
	// ssh's proxy command, another process, finds the job by
	// XDG_RUNTIME_DIR too.
	xdg := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	base := vmjob.BaseDir(os.Getenv)
	j, err := vmjob.Create(base, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Remove() })
	var known string
	for i := 0; i < n; i++ {
		j.VMs = append(j.VMs, vmjob.VM{Name: fmt.Sprintf("vm%d", i), SSHPort: standIn.port, Ports: map[int]int{22: standIn.port}})
		known += fmt.Sprintf("vm%d %s\n", i, standIn.hostKey)
	}
	// The host keys, as alloc records those of the seeds.
	if err := os.WriteFile(filepath.Join(j.Dir, knownHostsFile), []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := j.Save(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(asPcoccVM, "1")
	vars := map[string]string{"HOME": standIn.home, "PATH": os.Getenv("PATH"), "XDG_RUNTIME_DIR": xdg}
	var out, errb bytes.Buffer
	return &env{name: "pcocc", stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return vars[k] }, base: base}, &out, &errb
}

// runVM runs one pcocc-vm command line and returns its exit status.
func runVM(e *env, args ...string) int {
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee *exitcode.Error
	if err != nil && (!errors.As(err, &ee) || ee.Err != nil) {
		fmt.Fprintf(e.stderr, "%s\n", err)
	}
	return exitcode.Of(err)
}

func TestSSH(t *testing.T) {
	e, out, errb := newJob(t, 1)
	if rc := runVM(e, "ssh", "vm0", "echo", "hello from", "$0"); rc != 0 || !strings.HasPrefix(out.String(), "hello from ") {
		t.Fatalf("ssh vm0: rc %d, out %q, err %q", rc, out, errb)
	}
	out.Reset()
	if rc := runVM(e, "ssh", "vm0", "exit 7"); rc != 7 {
		t.Errorf("ssh vm0 'exit 7': rc %d, err %q", rc, errb)
	}
	e.stdin = strings.NewReader("from stdin\n")
	if rc := runVM(e, "ssh", "vm0", "cat"); rc != 0 || out.String() != "from stdin\n" {
		t.Errorf("ssh vm0 cat: rc %d, out %q, err %q", rc, out, errb)
	}
	errb.Reset()
	if rc := runVM(e, "ssh", "vm5", "true"); rc == 0 || !strings.Contains(errb.String(), "vm5") {
		t.Errorf("ssh vm5 (no such VM): rc %d, err %q", rc, errb)
	}
}

func TestExec(t *testing.T) {
	e, out, errb := newJob(t, 2)
	if rc := runVM(e, "exec", "echo", "hi"); rc != 0 || out.String() != "hi\nhi\n" {
		t.Fatalf("exec on 2 VMs: rc %d, out %q, err %q", rc, out, errb)
	}
	out.Reset()
	if rc := runVM(e, "exec", "-i", "1", "echo", "one"); rc != 0 || out.String() != "one\n" {
		t.Errorf("exec -i 1: rc %d, out %q, err %q", rc, out, errb)
	}
	if rc := runVM(e, "exec", "exit", "3"); rc != 3 {
		t.Errorf("exec exit 3: rc %d, err %q", rc, errb)
	}
	errb.Reset()
	if rc := runVM(e, "exec", "-i", "4", "true"); rc == 0 || !strings.Contains(errb.String(), "vm4") {
		t.Errorf("exec -i 4 (no such VM): rc %d, err %q", rc, errb)
	}
}

func TestSCP(t *testing.T) {
	e, _, errb := newJob(t, 1)
	d := t.TempDir()
	src, back := filepath.Join(d, "src"), filepath.Join(d, "back")
	os.WriteFile(src, []byte("payload\n"), 0o644)
	remote := filepath.Join(d, "remote") // the stand-in shares the file system
	if rc := runVM(e, "scp", src, "vm0:"+remote); rc != 0 {
		t.Fatalf("scp to vm0: rc %d, err %q", rc, errb)
	}
	if rc := runVM(e, "scp", "vm0:"+remote, back); rc != 0 {
		t.Fatalf("scp from vm0: rc %d, err %q", rc, errb)
	}
	if b, _ := os.ReadFile(back); string(b) != "payload\n" {
		t.Errorf("copied back %q", b)
	}
	if rc := runVM(e, "scp", src, "host:/tmp/x"); rc != exitcode.Usage {
		t.Errorf("scp without a VM: rc %d", rc)
	}
}

// A VM port that answers with another host key than the one recorded (not
// the VM any more: another user's process may have taken its port) is
// refused.
func TestSSHWrongHostKey(t *testing.T) {
	e, out, errb := newJob(t, 1)
	j, err := vmjob.Find(e.base, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sshkeys.NewHostKey("vm0")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(j.Dir, knownHostsFile), []byte("vm0 "+other.Public+"\n"), 0o600)
	if rc := runVM(e, "ssh", "vm0", "echo", "reached"); rc != 255 || strings.Contains(out.String(), "reached") ||
		!strings.Contains(errb.String(), "Host key verification failed") {
		t.Errorf("ssh with a wrong host key: rc %d, out %q, err %q", rc, out, errb)
	}
}
