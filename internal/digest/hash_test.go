//go:build !pcocc_launcher

package digest

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestHash(t *testing.T) {
	if d := FromBytes(nil); d != emptySHA {
		t.Fatalf("FromBytes(nil) = %s", d)
	}
	h := NewHasher()
	io.WriteString(h, "ab")
	io.WriteString(h, "c")
	if h.Digest() != FromBytes([]byte("abc")) {
		t.Fatalf("Hasher gives %s, FromBytes %s", h.Digest(), FromBytes([]byte("abc")))
	}
	if d, err := FromReader(strings.NewReader("abc")); err != nil || d != FromBytes([]byte("abc")) {
		t.Fatalf("FromReader gives %s, %v; FromBytes %s", d, err, FromBytes([]byte("abc")))
	}
	if _, err := FromReader(iotest.ErrReader(io.ErrUnexpectedEOF)); err != io.ErrUnexpectedEOF {
		t.Fatalf("FromReader of a failing reader: %v", err)
	}
}
