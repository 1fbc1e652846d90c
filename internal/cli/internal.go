package cli

import "github.com/pcocc/pcocc/internal/containerinit"

// RunInternal handles the hidden entry points that pcocc re-executes itself
// into (the container init, for instance) before any command-line parsing,
// since those must not start the cobra machinery or extra goroutines. It
// reports whether argv was such an entry point, and the exit code.
func RunInternal(argv []string) (int, bool) {
	if len(argv) < 2 {
		return 0, false
	}
	if h, ok := internalEntries[argv[1]]; ok {
		return h(argv[2:]), true
	}
	return 0, false
}

// internalEntries maps a hidden argv[1] to its handler; packages that need a
// re-exec register here from this package only.
var internalEntries = map[string]func(args []string) int{
	containerinit.InitArg: containerinit.Init, // the container init of `pcocc run`
}
