// Package mountspec parses and checks the mount specs shared by `pcocc run
// --mount`, modules and templates:
//
//	src=PATH,dst=PATH[,ro][,type=bind|squashfs][,optional]
//
// with the aliases source=, destination= and target=, readonly, and several
// specs in one value separated by ':'. A path holding ',' or ':' cannot be
// written in this form (use a module in containers.yaml).
package mountspec

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Mount types.
const (
	TypeBind     = "bind"
	TypeSquashfs = "squashfs"
)

// Mount is one mount, in the form modules use in YAML and the command line
// produces. Destination empty means "same as Source".
type Mount struct {
	Source      string `json:"source" yaml:"source"`
	Destination string `json:"destination,omitempty" yaml:"destination,omitempty"`
	ReadOnly    bool   `json:"readonly,omitempty" yaml:"readonly,omitempty"`
	Type        string `json:"type,omitempty" yaml:"type,omitempty"` // TypeBind when empty
	Optional    bool   `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// ErrSyntax is matched by every error of this package.
var ErrSyntax = errors.New("bad mount spec")

// ParseList parses a command-line value: one or more specs separated by ':'.
// The mounts are returned normalised (see Normalize).
func ParseList(s string) ([]Mount, error) {
	var out []Mount
	for _, one := range strings.Split(s, ":") {
		m, err := Parse(one)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Parse parses one "key=value,..." spec and normalises it.
func Parse(s string) (Mount, error) {
	m, err := parseFields(s)
	if err == nil {
		m, err = m.Normalize()
	}
	if err != nil {
		return Mount{}, fmt.Errorf("%w %q: %s", ErrSyntax, s, strings.TrimPrefix(err.Error(), ErrSyntax.Error()+": "))
	}
	return m, nil
}

func parseFields(s string) (Mount, error) {
	var m Mount
	if strings.TrimSpace(s) == "" {
		return m, errors.New("empty spec (expected src=PATH,dst=PATH[,ro])")
	}
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		k, v, hasVal := strings.Cut(f, "=")
		canon := canonicalKey(k)
		if canon == "" {
			return m, fmt.Errorf("unknown key %q (expected src, dst, ro, type or optional)", k)
		}
		if seen[canon] {
			return m, fmt.Errorf("%s given twice", canon)
		}
		seen[canon] = true
		if err := setField(&m, canon, v, hasVal); err != nil {
			return m, err
		}
	}
	return m, nil
}

func canonicalKey(k string) string {
	switch k {
	case "src", "source":
		return "src"
	case "dst", "destination", "target":
		return "dst"
	case "ro", "readonly":
		return "ro"
	case "type", "optional":
		return k
	}
	return ""
}

func setField(m *Mount, key, v string, hasVal bool) error {
	switch key {
	case "src", "dst", "type":
		if !hasVal || v == "" {
			return fmt.Errorf("%s needs a value (%s=...)", key, key)
		}
	}
	var err error
	switch key {
	case "src":
		m.Source = v
	case "dst":
		m.Destination = v
	case "type":
		m.Type = v
	case "ro":
		m.ReadOnly, err = flag(key, v, hasVal)
	case "optional":
		m.Optional, err = flag(key, v, hasVal)
	}
	return err
}

// flag reads "ro", "ro=true" or "ro=false".
func flag(key, v string, hasVal bool) (bool, error) {
	switch {
	case !hasVal || v == "true":
		return true, nil
	case v == "false":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: expected true or false", key, v)
}

// Normalize checks m and returns it with Destination filled in and cleaned and
// Type set. Source is kept as written (a relative source is resolved by the
// planner against the working directory).
func (m Mount) Normalize() (Mount, error) {
	if m.Source == "" {
		return m, fmt.Errorf("%w: missing source (src=PATH)", ErrSyntax)
	}
	switch m.Type {
	case "":
		m.Type = TypeBind
	case TypeBind, TypeSquashfs:
	default:
		return m, fmt.Errorf("%w: unknown type %q (expected bind or squashfs)", ErrSyntax, m.Type)
	}
	if m.Destination == "" {
		m.Destination = m.Source
	}
	dst, err := CheckDestination(m.Destination)
	if err != nil {
		return m, err
	}
	m.Destination = dst
	return m, nil
}

// CheckDestination returns the cleaned form of a container path that a mount
// may cover, or says in one line why it may not.
func CheckDestination(dst string) (string, error) {
	if !path.IsAbs(dst) {
		return "", fmt.Errorf("%w: destination %q is not an absolute path", ErrSyntax, dst)
	}
	if strings.IndexByte(dst, 0) >= 0 {
		return "", fmt.Errorf("%w: destination contains a NUL byte", ErrSyntax)
	}
	c := path.Clean(dst)
	switch {
	case c == "/":
		return "", fmt.Errorf("%w: destination %q would cover the container's root", ErrSyntax, dst)
	case c == "/proc" || strings.HasPrefix(c, "/proc/"):
		return "", fmt.Errorf("%w: destination %q is inside /proc, which pcocc manages", ErrSyntax, dst)
	case c == "/sys" || c == "/dev":
		return "", fmt.Errorf("%w: destination %q would cover %s, which pcocc manages", ErrSyntax, dst, c)
	}
	return c, nil
}

// String gives the mount back in the command-line form.
func (m Mount) String() string {
	s := "src=" + m.Source + ",dst=" + m.Destination
	if m.ReadOnly {
		s += ",ro"
	}
	if m.Type != "" && m.Type != TypeBind {
		s += ",type=" + m.Type
	}
	if m.Optional {
		s += ",optional"
	}
	return s
}
