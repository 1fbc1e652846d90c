package importer

import "github.com/pcocc/pcocc/internal/digest"

// sha is the digest of b.
func sha(b []byte) digest.Digest { return digest.FromBytes(b) }
