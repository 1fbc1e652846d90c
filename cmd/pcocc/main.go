// Command pcocc runs HPC containers and virtual machines without root.
// Installed also as pcocc-rs: both names are the same program.
//
// It is built twice (Makefile): with the tag pcocc_launcher, bin/pcocc,
// the launcher, which runs `pcocc run` and hands every other command to the
// full program; without it, bin/pcocc-image, the full program (installed in
// PREFIX/libexec/pcocc). Package cli's launcher.go says why.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pcocc/pcocc/internal/cli"
	"github.com/pcocc/pcocc/internal/exitcode"
)

func main() {
	os.Exit(run())
}

func run() int {
	if code, ok := cli.RunInternal(os.Args); ok {
		return code
	}
	cli.HandOff(os.Args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := cli.NewRoot(os.Args[0])
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitcode.Error
		if !errors.As(err, &ee) || ee.Err != nil {
			// Errors may quote what an image holds (entry names, labels).
			fmt.Fprintf(os.Stderr, "%s: %s\n", root.Name(), cli.Printable(cli.CalledAs(root.Name(), err.Error())))
		}
	}
	return exitcode.Of(err)
}
