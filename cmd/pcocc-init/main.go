// Command pcocc-init is the container init of `pcocc run`: the process that
// pcocc starts in the container's new namespaces to mount the image, pivot
// into it and run the program (internal/containerinit). It is a program of
// its own, installed next to pcocc (or in PREFIX/libexec/pcocc), because it
// starts in about a millisecond where pcocc itself, a much larger program,
// takes four: it is on the path of every container start. Without it pcocc
// runs itself as the init, slower but the same.
package main

import (
	"fmt"
	"os"

	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != containerinit.InitArg {
		fmt.Fprintln(os.Stderr, "pcocc-init: the container init of pcocc run, started by pcocc only")
		os.Exit(exitcode.Setup)
	}
	os.Exit(containerinit.Init(os.Args[2:]))
}
