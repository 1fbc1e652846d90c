package main

import (
	"errors"

	"github.com/pcocc/pcocc/internal/cli"
)

func asExit(err error, target **cli.ExitError) bool { return errors.As(err, target) }
