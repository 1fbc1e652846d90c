package vmsetup

import (
	"strings"
	"testing"
)

// TestParse: every value of the plugin's request is checked before
// anything runs (the root test, test/root/vmsetup.sh, runs them as root).
func TestParse(t *testing.T) {
	good := []string{"create", "--job", "77", "--step", "0", "--uid", "1001", "--gid", "1001", "--node-id", "1",
		"--nodes", "n1,n2", "--tasks", "1,2", "--total", "3", "--network", "cluster", "--etcd-password", "/etc/pw"}
	a, err := parse(good)
	if err != nil || a.job != 77 || a.nodeID != 1 || len(a.nodes) != 2 || len(a.tasks) != 2 || a.runDir != "/run/pcocc" {
		t.Fatalf("%+v %v", a, err)
	}
	with := func(k, v string) []string {
		out := append([]string(nil), good...)
		for i := range out {
			if out[i] == k {
				out[i+1] = v
			}
		}
		return out
	}
	if a, err := parse(append(good, "--ports", "8080,443")); err != nil || len(a.ports) != 2 || a.ports[1] != 443 {
		t.Errorf("--ports 8080,443: %+v %v", a.ports, err)
	}
	if s := FormatPorts([]int{8080, 443}); s != "8080,443" {
		t.Errorf("FormatPorts: %q", s)
	}
	for _, c := range []struct {
		argv []string
		want string
	}{
		{append(good, "--ports", "80,80"), "distinct port"},
		{append(good, "--ports", "0"), "distinct port"},
		{append(good, "--ports", "65536"), "distinct port"},
		{append(good, "--ports", "080"), "distinct port"},
		{append(good, "--ports", "80,"), "distinct port"},
		{append(good, "--ports", "1,2,3,4,5,6,7,8,9"), "at most 8"},
		{[]string{"destroy"}, "expected create"},
		{with("--job", "0"), "--job 0"},
		{with("--job", "4294967296"), "--job 4294967296"},
		{with("--job", "x"), "invalid value"},
		{with("--uid", "0"), "--uid 0"},
		{with("--gid", "-1"), "--gid -1"},
		{with("--node-id", "2"), "the job has 2 nodes"},
		{with("--nodes", "n1,-x"), "not a host name"},
		{with("--nodes", "n1;n2"), "not a host name"},
		{with("--tasks", "1,1"), "distinct task id"},
		{with("--tasks", "3"), "distinct task id"},
		{with("--total", "0"), "--total 0"},
		{with("--network", "../x"), "not a network name"},
		{with("--network", strings.Repeat("a", 33)), "not a network name"},
		{with("--etcd-password", "pw"), "absolute path"},
		{with("--step", "4294967296"), "--step"},
		{append(with("--job", "1"), "--run-dir", "/run/../x"), "not a clean absolute path"},
		{append(with("--job", "1"), "extra"), "unexpected argument"},
	} {
		_, err := parse(c.argv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.argv, err, c.want)
		}
	}
}

func TestReadCred(t *testing.T) {
	for in, ok := range map[string]bool{
		"0123456789abcdef0123456789abcdef\n": true, "0123456789abcdef0123456789abcdef": true,
		"0123456789abcdef0123456789abcdef\n\n": false, "x": false, "": false,
	} {
		if _, err := readCred(strings.NewReader(in)); (err == nil) != ok {
			t.Errorf("%q: %v", in, err)
		}
	}
}
