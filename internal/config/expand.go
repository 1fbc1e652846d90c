package config

import (
	"errors"
	"fmt"
	"strings"
)

// expansion is the result of expanding one value.
type expansion struct {
	value string
	unset []string // variables that were referenced but unset or empty
}

// expand replaces a leading "~" (alone or before "/") with $HOME, then
// $VAR and ${VAR} with their values from env; an unset variable expands to
// "" and is recorded so callers can decide (a repository path refuses it, an
// optional mount is skipped). A '$' not followed by a name or '{' is kept.
func expand(s string, env func(string) string) (expansion, error) {
	var x expansion
	prefix, rest := "", s
	if s == "~" || strings.HasPrefix(s, "~/") {
		home := homeDir(env)
		if home == "" {
			return x, fmt.Errorf("expanding \"~\": %w", ErrNoHome)
		}
		prefix, rest = home, s[1:]
	}
	var b strings.Builder
	b.WriteString(prefix)
	for rest != "" {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		name, n, err := varRef(rest[i:])
		if err != nil {
			return x, err
		}
		if n == 0 {
			b.WriteByte('$')
			rest = rest[i+1:]
			continue
		}
		v := env(name)
		if v == "" {
			x.unset = append(x.unset, name)
		}
		b.WriteString(v)
		rest = rest[i+n:]
	}
	x.value = b.String()
	return x, nil
}

// Expand expands value as configuration paths are expanded ("~", $VAR,
// ${VAR}) and returns the variables that were unset or empty. Modules use it
// for the values of env entries, at launch time.
func Expand(value string, env func(string) string) (string, []string, error) {
	x, err := expand(value, env)
	return x.value, x.unset, err
}

// varRef parses a variable reference at the start of s (which starts with
// '$') and returns its name and length; length 0 means "not a reference".
func varRef(s string) (string, int, error) {
	if strings.HasPrefix(s, "${") {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, errors.New("unterminated \"${\": missing '}'")
		}
		name := s[2:end]
		if nameLen(name) != len(name) || name == "" {
			return "", 0, fmt.Errorf("bad variable name %q in %q", name, s[:end+1])
		}
		return name, end + 1, nil
	}
	n := nameLen(s[1:])
	if n == 0 {
		return "", 0, nil
	}
	return s[1 : 1+n], 1 + n, nil
}

// nameLen is the length of the variable name at the start of s:
// [A-Za-z_][A-Za-z0-9_]*.
func nameLen(s string) int {
	for i := range len(s) {
		c := s[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return i
		}
	}
	return len(s)
}
