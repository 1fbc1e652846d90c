package importer

import "github.com/pcocc/pcocc/internal/digest"

// sha is the digest of b, as a string.
func sha(b []byte) string { return string(digest.FromBytes(b)) }
