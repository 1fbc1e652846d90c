package etcdstate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/etcdstate/etcdtest"
)

const (
	credA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	credB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func open(t *testing.T, s *etcdtest.Server, user, pw string) *Client {
	t.Helper()
	c, err := Open([]string{s.Endpoint}, user, pw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestAuth: each user reads and writes its own subtree and reads its
// running jobs' cluster subtree, nothing of another user's.
func TestAuth(t *testing.T) {
	s := etcdtest.Start(t)
	root := open(t, s, "root", etcdtest.RootPassword)
	for uid, cred := range map[int]string{1001: credA, 1002: credB} {
		if err := root.EnsureUser(uid, cred); err != nil {
			t.Fatal(err)
		}
	}
	if err := root.GrantJob(1001, 7); err != nil {
		t.Fatal(err)
	}
	if err := root.Put(VMKey(7, 0), `{"name":"vm0"}`); err != nil {
		t.Fatal(err)
	}
	a := open(t, s, UserName(1001), credA)
	b := open(t, s, UserName(1002), credB)
	if err := a.Put(UserJobPrefix(1001, 7)+"hv/0", "x"); err != nil {
		t.Fatalf("user writes its subtree: %v", err)
	}
	if m, err := a.List(ClusterPrefix(7)); err != nil || m[VMKey(7, 0)] == "" {
		t.Fatalf("owner reads its cluster: %v %v", m, err)
	}
	if err := a.Put(VMKey(7, 0), "forged"); err == nil {
		t.Error("owner wrote the root-written cluster subtree")
	}
	denied := func(what string, err error) {
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want permission denied", what, err)
		}
	}
	_, err := b.List(UserPrefix(1001))
	denied("second user reads the first's subtree", err)
	_, err = b.List(ClusterPrefix(7))
	denied("second user reads the first's cluster", err)
	denied("second user writes the first's subtree", b.Put(UserPrefix(1001)+"x", "y"))
	_, err = b.List(VNIPrefix)
	denied("user reads the VNI table", err)
	// a wrong password is refused
	if _, err := Open([]string{s.Endpoint}, UserName(1002), credA); err == nil {
		t.Error("wrong password accepted")
	}
	// new credential: the old one stops working
	if err := root.EnsureUser(1002, credA); err != nil {
		t.Fatal(err)
	}
	if _, err := Open([]string{s.Endpoint}, UserName(1002), credB); err == nil {
		t.Error("old password still accepted")
	}
	// after DeleteJob the owner's read is gone and the keys too
	if err := root.DeleteJob(7); err != nil {
		t.Fatal(err)
	}
	_, err = a.List(ClusterPrefix(7))
	denied("owner reads a deleted job's cluster", err)
	if m, _ := root.List(Root); len(m) != 0 {
		t.Errorf("keys left after DeleteJob: %v", m)
	}
}

func TestAllocVNI(t *testing.T) {
	s := etcdtest.Start(t)
	root := open(t, s, "root", etcdtest.RootPassword)
	v1, err := root.AllocVNI(10, 100, 101)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := root.AllocVNI(10, 100, 101); err != nil || again != v1 {
		t.Fatalf("second node of job 10 got %d %v, want %d", again, err, v1)
	}
	v2, err := root.AllocVNI(11, 100, 101)
	if err != nil || v2 == v1 {
		t.Fatalf("job 11 got %d %v (job 10 has %d)", v2, err, v1)
	}
	if _, err := root.AllocVNI(12, 100, 101); err == nil || !strings.Contains(err.Error(), "no free VNI") {
		t.Fatalf("full range: %v", err)
	}
	if err := root.DeleteJob(10); err != nil {
		t.Fatal(err)
	}
	if v, err := root.AllocVNI(12, 100, 101); err != nil || v != v1 {
		t.Fatalf("job 12 after 10's delete got %d %v, want %d", v, err, v1)
	}
	m, _ := root.List(VNIPrefix)
	if m[VNIKey(v1)] != "12" || m[VNIKey(v2)] != strconv.Itoa(11) || len(m) != 2 {
		t.Fatalf("VNI table %v", m)
	}
	if _, err := root.AllocVNI(1, 5, 4); err == nil {
		t.Error("empty range accepted")
	}
}

// TestEnsureUserKeepsTokens: the second node of a job sets the user up
// with the same credential while a hypervisor of the first node is
// connected: its writes go on (a password change there ended its token,
// and etcd 3.4 never let it authenticate again). A new credential still
// replaces the old one.
func TestEnsureUserKeepsTokens(t *testing.T) {
	s := etcdtest.Start(t)
	root := open(t, s, "root", etcdtest.RootPassword)
	if err := root.EnsureUser(1001, credA); err != nil {
		t.Fatal(err)
	}
	hv := open(t, s, UserName(1001), credA)
	if err := hv.Put(UserJobPrefix(1001, 9)+"vm/0", "x"); err != nil {
		t.Fatal(err)
	}
	if err := root.EnsureUser(1001, credA); err != nil {
		t.Fatal(err)
	}
	if err := hv.Put(UserJobPrefix(1001, 9)+"vm/1", "x"); err != nil {
		t.Fatalf("a connected client after another node's set-up: %v", err)
	}
	if err := root.EnsureUser(1001, credB); err != nil {
		t.Fatal(err)
	}
	if _, err := Open([]string{s.Endpoint}, UserName(1001), credA); err == nil {
		t.Error("the old credential still accepted")
	}
	open(t, s, UserName(1001), credB)
}
