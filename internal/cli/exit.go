package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/pcocc/pcocc/internal/resolve"
)

// Exit codes shared by every command (docs/user-guide.md lists them).
// `pcocc run` passes the program's own status through and uses 125-127 for
// its own failures, like `docker run`.
const (
	ExitOK        = 0
	ExitFailure   = 1   // the operation failed (import error, image not found, ...)
	ExitUsage     = 2   // bad command line or configuration
	ExitRunError  = 125 // pcocc run could not start the container
	ExitNoExec    = 126 // the command exists in the container but cannot be executed
	ExitNotFound  = 127 // the command was not found in the container
	exitSignalOff = 128 // 128+N: the program was killed by signal N
)

// ExitError carries an exit status chosen by a command. A nil Err means the
// status is reported with no message (the program already said why).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// WithCode wraps err so that main exits with code.
func WithCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &ExitError{Code: code, Err: err}
}

// usageError marks a command-line mistake (exit status 2).
func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the exit code main should use for err.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var re *resolve.RefError
	if errors.As(err, &re) {
		return ExitUsage
	}
	return ExitFailure
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
	return WithCode(exitSignalOff+int(sig), errors.New("interrupted: "+what))
}
