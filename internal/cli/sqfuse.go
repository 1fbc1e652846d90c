package cli

import "github.com/pcocc/pcocc/internal/sqfuse"

// pcocc's own squashfs FUSE server runs as a re-executed pcocc (a separate
// process: the container init must stay single-threaded).
func init() { internalEntries[sqfuse.Arg] = sqfuse.Main }
