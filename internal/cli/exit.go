package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// Exit codes: internal/exitcode has the one table (docs/running.md lists it).

// usageError marks a command-line mistake (exit status 2).
func usageError(format string, args ...any) error {
	return exitcode.Wrap(exitcode.Usage, fmt.Errorf(format, args...))
}

// interrupted turns the failure of a command that ctx's signal stopped
// into "interrupted: WHAT" with status 128+N, like a shell's: "context
// canceled" names neither the cause nor what was left. It returns err
// unchanged when ctx was not cancelled by a signal.
func interrupted(ctx context.Context, err error, what string) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	sig := syscall.SIGINT
	// signal.NotifyContext's cause is "<signal> signal received".
	if c := context.Cause(ctx); c != nil && strings.HasPrefix(c.Error(), syscall.SIGTERM.String()+" ") {
		sig = syscall.SIGTERM
	}
	return exitcode.Wrap(exitcode.Signaled+int(sig), errors.New("interrupted: "+what))
}

// report prints err, unless it is silent (the program spoke for itself),
// and returns the exit status it stands for.
func report(name string, err error) int {
	if err != nil {
		var ee *exitcode.Error
		if !errors.As(err, &ee) || ee.Err != nil {
			// Errors may quote what an image holds (entry names, labels).
			fmt.Fprintf(os.Stderr, "%s: %s\n", name, Printable(CalledAs(name, err.Error())))
		}
	}
	return exitcode.Of(err)
}
