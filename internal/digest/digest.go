// Package digest is the one place that knows how pcocc names content:
// "sha256:" followed by 64 lowercase hexadecimal digits, the only form
// images and repositories use. It depends on the standard library alone:
// github.com/opencontainers/go-digest compiles regular expressions when its
// package is initialised, a cost every pcocc start would pay. Hashing
// (FromBytes, FromReader, Hasher: hash.go) is left out of builds with the
// tag pcocc_launcher, the launcher's, which hashes nothing: the packages
// that hash are not the launcher's and are not built with that tag.
package digest

import (
	"fmt"
	"strings"
)

// Digest is a content digest in its canonical form, sha256:<64 hex>. A
// Digest obtained from Parse, FromBytes, FromReader or a Hasher is valid; a conversion
// from a string is not checked (Validate says).
type Digest string

// Algorithm is the only algorithm pcocc accepts.
const Algorithm = "sha256"

const (
	prefix = Algorithm + ":"
	hexLen = 64 // a SHA-256, in hexadecimal
)

// Parse checks s and returns it as a Digest. The error names s.
func Parse(s string) (Digest, error) {
	if err := Digest(s).Validate(); err != nil {
		return "", err
	}
	return Digest(s), nil
}

// FromHex returns the digest whose hexadecimal part is h (a file name in a
// blobs/sha256 directory).
func FromHex(h string) (Digest, error) {
	return Parse(prefix + h)
}

// Valid says whether s is a digest in canonical form.
func Valid(s string) bool { return Digest(s).Validate() == nil }

// Validate returns an error unless d is sha256:<64 lowercase hex>.
func (d Digest) Validate() error {
	h, ok := strings.CutPrefix(string(d), prefix)
	if !ok || len(h) != hexLen || !isLowerHex(h) {
		return fmt.Errorf("invalid digest %q: want %s:<%d lowercase hexadecimal digits>", string(d), Algorithm, hexLen)
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Hex returns the hexadecimal part of d (what names its blob file).
func (d Digest) Hex() string { return strings.TrimPrefix(string(d), prefix) }

// String returns d as it is written.
func (d Digest) String() string { return string(d) }

// Short returns d cut to its algorithm and first 12 hex digits, for
// messages.
func (d Digest) Short() string { return string(d)[:min(len(d), len(prefix)+12)] }
