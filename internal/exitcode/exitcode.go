// Package exitcode is the one table of pcocc's exit statuses, and the error
// that carries one. The CLI, the launcher (internal/runtime), the container
// init (internal/containerinit) and the SPANK plugin (spank/, through the
// generated C header spank/pcocc_exit.h) all take their codes from here;
// docs/running.md lists them for users.
package exitcode

import (
	"errors"
	"fmt"
)

// The exit statuses. `pcocc run` passes the program's own status through
// and uses 125-127 for its own failures, like `docker run`.
const (
	OK       = 0   // success
	Failure  = 1   // the operation failed (import error, image not found, ...)
	Usage    = 2   // bad command line or configuration
	Setup    = 125 // pcocc run could not start the container
	NotExec  = 126 // the command exists in the container but cannot be executed
	NotFound = 127 // the command was not found in the container
	Signaled = 128 // 128+N: the program (or pcocc) was killed by signal N
)

// Table is every code above, with the name the C header gives it; the
// test that keeps spank/pcocc_exit.h in step with it reads it.
var Table = []struct {
	Name string
	Code int
	Doc  string
}{
	{"OK", OK, "success"},
	{"FAILURE", Failure, "the operation failed"},
	{"USAGE", Usage, "bad command line or configuration"},
	{"SETUP", Setup, "the container could not be set up"},
	{"NOT_EXEC", NotExec, "the command exists but cannot be executed"},
	{"NOT_FOUND", NotFound, "the command was not found in the container"},
	{"SIGNALED", Signaled, "128+N: killed by signal N"},
}

// Error is a failure with the exit status it maps to. A nil Err means the
// status is reported with no message (the program already said why).
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Wrap gives err the exit status code; nil stays nil.
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Silent is a status with no message: what failed already said why.
func Silent(code int) error { return &Error{Code: code} }

// Coded is an error type of another package that knows its exit status
// (resolve.RefError: a usage error) without wrapping itself in an *Error.
// The method's name is pcocc's own so that no foreign error (os/exec's
// ExitError has an ExitCode method) is taken for one.
type Coded interface{ PcoccExitCode() int }

// Of returns the exit status for err: OK for nil, the code of the first
// *Error or Coded in its chain, else Failure.
func Of(err error) int { return OfOr(err, Failure) }

// OfOr is Of with another status for errors that carry none (the container
// init's failures are all set-up failures unless they say otherwise).
func OfOr(err error, fallback int) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var c Coded
	if errors.As(err, &c) {
		return c.PcoccExitCode()
	}
	return fallback
}
