package imageref

import "errors"

// ErrInvalid is wrapped by every error Parse, ValidateName and ValidateRepo
// return, so callers can tell bad input from other failures with errors.Is.
var ErrInvalid = errors.New("invalid image reference")

// invalidError is a naming-rule violation; it says which part is wrong and
// matches ErrInvalid without repeating its text in every message.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

func (e *invalidError) Is(target error) bool { return target == ErrInvalid }
