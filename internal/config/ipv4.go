package config

import (
	"fmt"
	"strconv"
	"strings"
)

// IPv4Prefix is an IPv4 network such as 10.200.0.0/24, its host bits
// cleared. Its own small type, not net/netip's: this package is linked into
// the launcher, and net/netip's package initialisation would be paid at
// every `pcocc run` for a setting only the VM commands read (convert with
// netip.PrefixFrom(netip.AddrFrom4(p.Addr), p.Bits) there).
type IPv4Prefix struct {
	Addr [4]byte
	Bits int
}

// ParseIPv4Prefix reads A.B.C.D/N in dotted decimal (no leading zeros, as
// net/netip), and clears the host bits.
func ParseIPv4Prefix(s string) (IPv4Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	parts := strings.Split(addr, ".")
	if !ok || len(parts) != 4 {
		return IPv4Prefix{}, fmt.Errorf("%q: not an IPv4 prefix A.B.C.D/N", s)
	}
	var p IPv4Prefix
	for i, part := range parts {
		n, err := decimal(part, 255)
		if err != nil {
			return IPv4Prefix{}, fmt.Errorf("%q: not an IPv4 prefix A.B.C.D/N", s)
		}
		p.Addr[i] = byte(n)
	}
	n, err := decimal(bits, 32)
	if err != nil {
		return IPv4Prefix{}, fmt.Errorf("%q: not an IPv4 prefix A.B.C.D/N", s)
	}
	p.Bits = n
	mask := ^uint32(0) << (32 - n)
	if n == 0 {
		mask = 0
	}
	v := uint32(p.Addr[0])<<24 | uint32(p.Addr[1])<<16 | uint32(p.Addr[2])<<8 | uint32(p.Addr[3])
	v &= mask
	p.Addr = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	return p, nil
}

// decimal reads a number of at most max without sign or leading zero.
func decimal(s string, max int) (int, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.ContainsAny(s, "+-") {
		return 0, fmt.Errorf("%q: not a decimal number", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, fmt.Errorf("%q: not a number up to %d", s, max)
	}
	return n, nil
}

func (p IPv4Prefix) String() string {
	return fmt.Sprintf("%d.%d.%d.%d/%d", p.Addr[0], p.Addr[1], p.Addr[2], p.Addr[3], p.Bits)
}
