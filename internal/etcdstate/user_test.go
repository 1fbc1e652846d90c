package etcdstate

import (
	"context"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/etcdstate/etcdtest"
)

// TestRegisterView: a hypervisor's registration is seen in View with the
// root-written reverse NAT; stop removes it; another user sees neither.
func TestRegisterView(t *testing.T) {
	s := etcdtest.Start(t)
	root := open(t, s, "root", etcdtest.RootPassword)
	for uid, cred := range map[int]string{1001: credA, 1002: credB} {
		if err := root.EnsureUser(uid, cred); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.GrantJob(1001, 9); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{RNATKey(9, 0, 22): "10.0.0.1:20000", RNATKey(9, 1, 22): "10.0.0.2:20001",
		RNATKey(9, 1, 8080): "10.0.0.2:20002", RNATPrefix(9) + "junk": "x"} {
		if err := root.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	a := open(t, s, UserName(1001), credA)
	stop, err := a.Register(context.Background(), UserVMKey(1001, 9, 1), Hypervisor{Name: "vm1", Node: "n2", Pid: 4, HostKey: "ssh-ed25519 AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.View(1001, 9)
	if err != nil {
		t.Fatal(err)
	}
	if v.RNAT[1][8080] != "10.0.0.2:20002" || v.RNAT[0][22] != "10.0.0.1:20000" || len(v.RNAT) != 2 {
		t.Errorf("rnat: %v", v.RNAT)
	}
	if v.VMs[1].Node != "n2" || v.VMs[1].HostKey != "ssh-ed25519 AAAA" || len(v.VMs) != 1 {
		t.Errorf("vms: %v", v.VMs)
	}
	if jobs, err := a.UserJobs(1001); err != nil || len(jobs) != 1 || jobs[9] != 1 {
		t.Errorf("UserJobs: %v %v", jobs, err)
	}
	b := open(t, s, UserName(1002), credB)
	if _, err := b.View(1001, 9); err == nil {
		t.Error("user 1002 read user 1001's job")
	}
	if _, err := b.Register(context.Background(), UserVMKey(1001, 9, 0), Hypervisor{Name: "vm0"}); err == nil {
		t.Error("user 1002 registered in user 1001's subtree")
	}
	stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err = a.View(1001, 9)
		if err == nil && len(v.VMs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("registration left after stop: %v %v", v.VMs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
