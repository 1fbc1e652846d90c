package etcdstate

import "testing"

func TestKeys(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{UserName(1001), "pcocc-u1001"},
		{RoleName(0), "pcocc-u0"},
		{UserPrefix(1001), "/pcocc/user/1001/"},
		{UserJobPrefix(1001, 42), "/pcocc/user/1001/42/"},
		{ClusterPrefix(42), "/pcocc/cluster/42/"},
		{OwnerKey(42), "/pcocc/cluster/42/owner"},
		{NodeKey(42, 1), "/pcocc/cluster/42/node/1"},
		{VMKey(42, 3), "/pcocc/cluster/42/vm/3"},
		{RNATKey(42, 3, 22), "/pcocc/cluster/42/rnat/3/22"},
		{VNIKey(1024), "/pcocc/global/vni/1024"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// a job's prefix must not be a prefix of another job's (4 vs 42)
	if p := ClusterPrefix(4); len(OwnerKey(42)) > len(p) && OwnerKey(42)[:len(p)] == p {
		t.Errorf("%s is a prefix of %s", p, OwnerKey(42))
	}
}

func TestValidCred(t *testing.T) {
	for s, want := range map[string]bool{
		"0123456789abcdef0123456789abcdef":  true,
		"0123456789ABCDEF0123456789abcdef":  false,
		"0123456789abcdef0123456789abcde":   false,
		"0123456789abcdef0123456789abcdef0": false,
		"0123456789abcdef0123456789abcdeg":  false,
		"":                                  false,
		"0123456789abcdef0123456789abcde\n": false,
	} {
		if got := ValidCred(s); got != want {
			t.Errorf("ValidCred(%q) = %v", s, got)
		}
	}
}
