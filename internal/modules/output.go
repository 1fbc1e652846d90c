package modules

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/mountspec"
)

// Output is what a generator adds to its module.
type Output struct {
	Env    []envspec.Spec
	Mounts []mountspec.Mount
	// Warnings are the lines the generator printed on stderr.
	Warnings []string
}

// ParseOutput reads a generator's standard output, one directive a line:
//
//	# a comment; blank lines are ignored too
//	mount SPEC   a mount spec, as --mount takes one (src=...,dst=...,ro);
//	             ':' is part of the paths here: one mount a line
//	env SPEC     an env spec, as --env takes one (VAR=VAL, pp(VAR)=VAL, ...)
//
// Mount sources must be absolute. Anything else is an error naming the line.
func ParseOutput(b []byte) (Output, error) {
	var out Output
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), maxOutput)
	for n := 1; sc.Scan(); n++ {
		if err := out.parseLine(sc.Text()); err != nil {
			return out, fmt.Errorf("output line %d: %w", n, err)
		}
	}
	return out, sc.Err()
}

func (o *Output) parseLine(line string) error {
	if !utf8.ValidString(line) || strings.ContainsRune(line, 0) {
		return fmt.Errorf("not text: %q", clip(line))
	}
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil
	}
	word, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	switch word {
	case "mount":
		m, err := mountspec.Parse(arg)
		if err != nil {
			return err
		}
		if !path.IsAbs(m.Source) {
			return fmt.Errorf("mount source %q: not an absolute path", m.Source)
		}
		o.Mounts = append(o.Mounts, m)
	case "env":
		s, err := envspec.Parse(arg)
		if err != nil {
			return err
		}
		o.Env = append(o.Env, s)
	default:
		return fmt.Errorf("%q: expected \"mount SPEC\", \"env SPEC\" or a # comment", clip(line))
	}
	return nil
}

// clip shortens a line of garbage for a one-line message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
