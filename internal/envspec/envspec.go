// Package envspec parses and applies the environment specs that `pcocc run
// --env`, modules and templates share (docs/modules.md, "Environment variables"):
//
//	VAR          propagate VAR from the host (skipped when the host lacks it)
//	VAR=VAL      set VAR to VAL
//	re(REGEX)    propagate every host variable whose name matches REGEX
//	pp(VAR)=VAL  prefix VAL to the PATH-like variable VAR (':' joined)
//	ps(VAR)=VAL  suffix VAL to the PATH-like variable VAR (':' joined)
//
// Values are taken as written: "$VAR" expansion belongs to the configuration
// loader (and to the shell on a command line).
package envspec

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Kind says what a Spec does.
type Kind int

// The kinds of spec, one per syntax form.
const (
	Propagate Kind = iota + 1 // VAR
	Set                       // VAR=VAL
	Regex                     // re(REGEX)
	Prefix                    // pp(VAR)=VAL
	Suffix                    // ps(VAR)=VAL
)

// Spec is one parsed env spec.
type Spec struct {
	Kind  Kind
	Name  string         // variable name (all kinds but Regex)
	Value string         // Set, Prefix, Suffix
	Re    *regexp.Regexp // Regex
}

// ErrSyntax is matched by every parse error.
var ErrSyntax = errors.New("bad env spec")

// Parse parses one env spec.
func Parse(s string) (Spec, error) {
	sp, err := parse(s)
	if err != nil {
		return Spec{}, fmt.Errorf("%w %q: %s (expected VAR, VAR=VAL, re(REGEX), pp(VAR)=VAL or ps(VAR)=VAL)", ErrSyntax, s, err)
	}
	return sp, nil
}

func parse(s string) (Spec, error) {
	switch {
	case strings.HasPrefix(s, "re("):
		return parseRegex(s)
	case strings.HasPrefix(s, "pp("):
		return parseAffix(s, Prefix)
	case strings.HasPrefix(s, "ps("):
		return parseAffix(s, Suffix)
	}
	name, val, hasVal := strings.Cut(s, "=")
	if err := checkName(name); err != nil {
		return Spec{}, err
	}
	if !hasVal {
		return Spec{Kind: Propagate, Name: name}, nil
	}
	return Spec{Kind: Set, Name: name, Value: val}, checkValue(val)
}

func parseRegex(s string) (Spec, error) {
	if !strings.HasSuffix(s, ")") || len(s) < 4 {
		return Spec{}, errors.New("missing ')' at the end")
	}
	expr := s[3 : len(s)-1]
	if expr == "" {
		return Spec{}, errors.New("empty regular expression")
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return Spec{}, fmt.Errorf("bad regular expression: %w", err)
	}
	return Spec{Kind: Regex, Re: re}, nil
}

func parseAffix(s string, k Kind) (Spec, error) {
	inner := s[3:]
	name, val, ok := strings.Cut(inner, ")=")
	if !ok {
		return Spec{}, fmt.Errorf("%s(VAR) needs a value: %s(VAR)=VAL", s[:2], s[:2])
	}
	if err := checkName(name); err != nil {
		return Spec{}, err
	}
	return Spec{Kind: k, Name: name, Value: val}, checkValue(val)
}

// checkName accepts the portable shell variable names. Exotic names (bash's
// exported functions, for instance) can still travel through re().
func checkName(name string) error {
	if name == "" {
		return errors.New("empty variable name")
	}
	for i, c := range name {
		letter := c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
		digit := c >= '0' && c <= '9'
		if !letter && (i == 0 || !digit) {
			return fmt.Errorf("invalid variable name %q", name)
		}
	}
	return nil
}

func checkValue(v string) error {
	if strings.IndexByte(v, 0) >= 0 {
		return errors.New("value contains a NUL byte")
	}
	return nil
}

// String gives the spec back in its written form.
func (s Spec) String() string {
	switch s.Kind {
	case Propagate:
		return s.Name
	case Set:
		return s.Name + "=" + s.Value
	case Regex:
		return "re(" + s.Re.String() + ")"
	case Prefix:
		return "pp(" + s.Name + ")=" + s.Value
	case Suffix:
		return "ps(" + s.Name + ")=" + s.Value
	}
	return "<invalid env spec>"
}

// MarshalText lets a Spec appear in JSON launch plans in its written form.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the written form.
func (s *Spec) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = p
	return nil
}
