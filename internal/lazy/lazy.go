// Package lazy holds values built on first use rather than at package
// initialisation: every linked package's initialisation runs at every start
// of pcocc, whatever the command, and the launch path (pcocc run) pays for
// it (docs/benchmarks.md).
package lazy

import (
	"regexp"
	"sync"
)

// Regexp compiles expr on first use; it panics then if expr is invalid, as
// regexp.MustCompile (tests reach each one).
func Regexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
