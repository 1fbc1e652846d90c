//go:build !pcocc_launcher

package digest

// Hashing content is for the full program (imports, exports, checks, where
// digests are verified): the launcher (the tag pcocc_launcher) hashes no
// content, and crypto/sha256 would add the standard library's FIPS 140
// module to its initialisation at every `pcocc run` (cmd/pcocc's
// TestLauncherDependencies keeps it out).

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// FromBytes returns the digest of b.
func FromBytes(b []byte) Digest {
	s := sha256.Sum256(b)
	return Digest(prefix + hex.EncodeToString(s[:]))
}

// FromReader returns the digest of what r reads to its end.
func FromReader(r io.Reader) (Digest, error) {
	h := NewHasher()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return h.Digest(), nil
}

// Hasher computes a digest of what is written to it.
type Hasher struct{ h hash.Hash }

// NewHasher returns an empty Hasher.
func NewHasher() Hasher { return Hasher{sha256.New()} }

// Write adds p to the digested content; it never fails.
func (h Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Digest returns the digest of what was written so far.
func (h Hasher) Digest() Digest { return Digest(prefix + hex.EncodeToString(h.h.Sum(nil))) }
