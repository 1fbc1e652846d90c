package vmcli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/etcdstate"
	"github.com/pcocc/pcocc/internal/etcdstate/etcdtest"
)

func TestViewVMs(t *testing.T) {
	v := etcdstate.ClusterView{
		RNAT: map[int]map[int]string{1: {22: "10.0.0.2:20001", 8080: "10.0.0.2:20002"}, 0: {22: "10.0.0.1:20000"}, 2: {22: "bad"}},
		VMs:  map[int]etcdstate.Hypervisor{0: {HostKey: "ssh-ed25519 AAAA"}, 3: {HostKey: "x\nvm0 evil"}},
	}
	vms := viewVMs(v)
	got := ""
	for _, m := range vms {
		got += fmt.Sprintf("%s %s %v;", m.Name, m.Host, m.Ports)
	}
	if want := "vm0 10.0.0.1 map[22:20000];vm1 10.0.0.2 map[22:20001 8080:20002];vm2  map[];vm3  map[];"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if k := viewKnownHosts(v); k != "vm0 ssh-ed25519 AAAA\n" {
		t.Errorf("known hosts %q", k)
	}
}

// From a login node: `pcocc nc -j JOB vm0 22` finds the VM's reverse-NAT
// address in a real etcd, as the user, and connects there.
func TestSlurmNcThroughEtcd(t *testing.T) {
	s := etcdtest.Start(t)
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	home, sys := t.TempDir(), t.TempDir()
	cred, err := etcdCred(filepath.Join(home, ".pcocc"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := etcdstate.Open([]string{s.Endpoint}, "root", etcdtest.RootPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	uid := os.Getuid()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Write(append([]byte("echo:"), b...))
		c.Close()
	}()
	for _, err := range []error{root.EnsureUser(uid, cred), root.GrantJob(uid, 5), root.Put(etcdstate.RNATKey(5, 0, 22), l.Addr().String())} {
		if err != nil {
			t.Fatal(err)
		}
	}
	batch := fmt.Sprintf("type: slurm\nsettings:\n  etcd-servers: [%s]\n  etcd-client-port: %s\n", u.Hostname(), u.Port())
	os.WriteFile(filepath.Join(sys, "batch.yaml"), []byte(batch), 0o644)
	vars := map[string]string{"HOME": home, "PCOCC_SYSTEM_CONF_DIR": sys, "PATH": os.Getenv("PATH")}
	run := func(stdin string, args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		e := &env{name: "pcocc", stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, start: time.Now(),
			getenv: func(k string) string { return vars[k] }}
		root := newRoot(e)
		root.SetArgs(args)
		err := root.ExecuteContext(context.Background())
		for _, f := range e.exits {
			f()
		}
		return out.String(), errb.String(), err
	}
	if out, _, err := run("hello", "nc", "-j", "5", "vm0", "22"); err != nil || out != "echo:hello" {
		t.Errorf("nc: %q %v", out, err)
	}
	if _, _, err := run("", "nc", "-j", "5", "vm0", "8080"); err == nil || !strings.Contains(err.Error(), "port 8080 is not forwarded") {
		t.Errorf("nc port 8080: %v", err)
	}
	if _, _, err := run("", "nc", "-j", "6", "vm0", "22"); err == nil {
		t.Error("nc -j 6 (not the user's job) worked")
	}
	if out, _, err := run("", "ps"); err != nil || strings.TrimSpace(out) != "JOBID  NAME  VMS  STATE  TIME  NODES" {
		t.Errorf("ps with no registered VM: %q %v", out, err)
	}
	if _, _, err := run("", "console", "-j", "5", "vm0"); err == nil || !strings.Contains(err.Error(), "its node is not known") {
		t.Errorf("console of an unregistered VM: %v", err)
	}
	if _, _, err := run("", "save", "-j", "5", "vm0"); err == nil || !strings.Contains(err.Error(), "its node is not known") {
		t.Errorf("save of an unregistered VM: %v", err)
	}
}

// A hypervisor's directory is found on its node while it runs, and swept
// once its lock is free.
func TestVMDirLockSweep(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ve := vmEnv{Job: 77, Index: 1}
	dir, unlock, err := makeVMDir(ve)
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := nodeJob(77, "vm1")
	if err != nil || j.Dir != dir {
		t.Fatalf("nodeJob: %v %v", j, err)
	}
	if _, _, err := nodeJob(77, "vm0"); err == nil {
		t.Error("vm0 found")
	}
	if _, _, err := nodeJob(77, "vm01"); err == nil {
		t.Error("vm01 accepted")
	}
	sweepVMDirs()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a running VM's directory was swept: %v", err)
	}
	// A hypervisor killed: its lock is free (the file closed), the directory stays.
	stale := filepath.Join(os.TempDir(), "pcocc-76-vm0-123")
	os.Mkdir(stale, 0o700)
	os.WriteFile(filepath.Join(stale, vmDirLock), nil, 0o600)
	other := filepath.Join(os.TempDir(), "pcocc-other")
	os.Mkdir(other, 0o700)
	os.WriteFile(filepath.Join(other, vmDirLock), nil, 0o600)
	sweepVMDirs()
	if _, err := os.Stat(stale); err == nil {
		t.Error("a stale VM directory was left")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("a directory not named as a VM's was removed")
	}
	unlock()
	if _, err := os.Stat(dir); err == nil {
		t.Error("unlock left the directory")
	}
}
