// Command pcocc runs HPC containers and virtual machines without root.
// Installed also as pcocc-rs: both names are the same program.
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
