//go:build !pcocc_launcher

package cli

import "github.com/pcocc/pcocc/internal/sqfuse"

// pcocc's own squashfs FUSE server as a program: for the mounts the
// container init makes itself (modules' squashfs, held Slurm containers)
// and for benchmarks; pcocc run serves its image from its own goroutines
// (the full program) or from one of these (the launcher: imagework.go).
func init() { internalEntries[sqfuse.Arg] = sqfuse.Main }
