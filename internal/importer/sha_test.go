package importer

import "github.com/pcocc/pcocc/internal/digest"

func sha(b []byte) string { return string(digest.FromBytes(b)) }
