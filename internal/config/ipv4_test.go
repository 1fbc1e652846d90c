package config

import (
	"net/netip"
	"testing"
)

// TestParseIPv4Prefix agrees with net/netip on IPv4 prefixes (masked), and
// refuses what it refuses.
func TestParseIPv4Prefix(t *testing.T) {
	for _, s := range []string{
		"10.200.0.0/24", "10.200.0.7/24", "192.168.1.1/32", "0.0.0.0/0", "255.255.255.255/8",
		"10.0.0.0/33", "10.0.0/24", "10.0.0.0", "010.0.0.0/8", "10.0.0.256/8", "10.0.0.0/-1", "10.0.0.0/+8",
		"::1/128", "", "/", "a.b.c.d/8", "10.0.0.0/08", "1.2.3.4.5/8",
	} {
		want, werr := netip.ParsePrefix(s)
		got, err := ParseIPv4Prefix(s)
		if werr != nil || !want.Addr().Is4() {
			if err == nil {
				t.Errorf("%q: accepted as %s; net/netip: %v", s, got, werr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if m := want.Masked(); got.String() != m.String() || netip.PrefixFrom(netip.AddrFrom4(got.Addr), got.Bits) != m {
			t.Errorf("%q: got %s, want %s", s, got, m)
		}
	}
}
