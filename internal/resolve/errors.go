package resolve

import (
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/repo"
)

// RefError is a reference that cannot name what is asked: bad syntax, or a
// revision where a new image is named. It is the user's mistake, not a
// failure of the repositories.
type RefError struct {
	Ref string
	Err error
}

func (e *RefError) Error() string { return e.Err.Error() }
func (e *RefError) Unwrap() error { return e.Err }

// PcoccExitCode makes a bad reference a usage error (exit status 2).
func (e *RefError) PcoccExitCode() int { return exitcode.Usage }

// NotFoundError is an image that no repository searched has; it is
// errors.Is(err, repo.ErrNotFound). Its text names where it looked, since
// the image may be in a repository that is unavailable here.
type NotFoundError struct {
	Ref  string // the reference as shown (no repository part)
	Repo string // the one repository searched, "" for the search order
	msg  string
}

func (e *NotFoundError) Error() string { return e.msg }
func (e *NotFoundError) Unwrap() error { return repo.ErrNotFound }
