//go:build !pcocc_launcher

package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// MaxGeneratorTimeout bounds generator_timeout: a launch must not wait on a
// generator for longer than a user would wait on a command.
const MaxGeneratorTimeout = 10 * time.Minute

// generator decodes a module's generator: a command line split on blanks
// (no shell, no quoting), whose first word must not be empty.
func (d *decoder) generator(n ast.Node, ctx string) string {
	g := strings.TrimSpace(d.str(n, ctx, "generator"))
	if g == "" && !d.hasErrorAt(n) {
		d.errorf(n, ctx, "generator: empty command (expected a program and its arguments)")
	}
	return g
}

// duration decodes a positive duration: Go's form ("30s", "1m30s") or a
// number of seconds.
func (d *decoder) duration(n ast.Node, ctx, key string) time.Duration {
	s := d.str(n, ctx, key)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		secs, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			d.errorf(n, ctx, "%s: expected a duration such as \"30s\" or a number of seconds, found %q", key, s)
			return 0
		}
		v = time.Duration(secs * float64(time.Second))
	}
	if v <= 0 || v > MaxGeneratorTimeout {
		d.errorf(n, ctx, "%s: %s is out of range (more than 0, at most %s)", key, s, MaxGeneratorTimeout)
		return 0
	}
	return v
}
