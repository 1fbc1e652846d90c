package config

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is wrapped when a repository, module or template name is
	// not defined in any configuration file.
	ErrNotFound = errors.New("not defined")
	// ErrNoHome is wrapped when something needs the user's home directory
	// (the user repository, "~" in a path) and the environment gives none.
	ErrNoHome = errors.New("no home directory: $HOME is not set or not absolute")
)

// Source is where a definition or an entry was read: a file and a 1-based
// line and column. The zero Source stands for a built-in definition.
type Source struct {
	File string
	Line int
	Col  int
}

// String formats s as "file:line:col", or "built-in" for the zero Source.
func (s Source) String() string {
	switch {
	case s.File == "":
		return "built-in"
	case s.Line == 0:
		return s.File
	}
	return fmt.Sprintf("%s:%d:%d", s.File, s.Line, s.Col)
}

// Error is a configuration error at a place in a file. Every error the
// loader reports about a file's content is an *Error, so commands print the
// position users must fix; Err, when set, is the underlying cause.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	pos := Source{File: e.File, Line: e.Line, Col: e.Col}.String()
	if e.Err != nil {
		return pos + ": " + e.Msg + ": " + e.Err.Error()
	}
	return pos + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// errorAt builds an *Error at src.
func errorAt(src Source, err error, format string, args ...any) *Error {
	return &Error{File: src.File, Line: src.Line, Col: src.Col, Msg: fmt.Sprintf(format, args...), Err: err}
}
