package namesum

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// Every length around the padding's boundaries (55, 56, 63, 64 bytes…)
// against the standard library, and the FIPS 180-4 examples.
func TestSum256(t *testing.T) {
	b := make([]byte, 300)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	for n := 0; n <= len(b); n++ {
		if got, want := Sum256(b[:n]), sha256.Sum256(b[:n]); got != want {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
	}
	for in, want := range map[string]string{
		"":    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"abc": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq": "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	} {
		if got := Sum256([]byte(in)); hex.EncodeToString(got[:]) != want {
			t.Errorf("Sum256(%q) = %x, want %s", in, got, want)
		}
	}
}
