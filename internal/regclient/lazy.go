package regclient

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles a regular expression on first use. Every pcocc
// process links this package, the container init and the FUSE server
// included: compiling at package initialisation would slow each start.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
