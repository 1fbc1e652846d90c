// Package imageref parses the names that select an image in a pcocc image
// repository: [REPO:]NAME[@REV]. It is the only place that knows the naming rules,
// so the CLI, the configuration (template rootfs) and the repository code all
// agree on what a valid name is.
package imageref

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	// MaxNameLen bounds image names: they become file names in a repository.
	MaxNameLen = 128
	// MaxRepoLen bounds repository names.
	MaxRepoLen = 64
)

// Ref selects an image: Repo is empty for a bare name, which is searched in
// every repository in the documented order.
type Ref struct {
	Repo string
	Name string
	// Revision selects a revision of an image of a repository made by the
	// original pcocc (NAME@REV, decimal digits); "" is the newest.
	Revision string
}

// String formats r so that Parse(r.String()) == r.
func (r Ref) String() string {
	s := r.Name
	if r.Revision != "" {
		s += "@" + r.Revision
	}
	if r.Repo == "" {
		return s
	}
	return r.Repo + ":" + s
}

// Parse splits s at its first ':' into a repository and an image name, and
// a trailing "@REV" into a revision, and validates them. A name never holds
// ':', so "a:b:c" is an error rather than image "b:c" in repository "a".
func Parse(s string) (Ref, error) {
	var r Ref
	name := s
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		name, r.Revision = s[:i], s[i+1:]
		if r.Revision == "" || strings.Trim(r.Revision, "0123456789") != "" || len(r.Revision) > 9 {
			return Ref{}, fmt.Errorf("parsing image reference %q: %w", s,
				invalidf("revision %q after '@' is not a number", r.Revision))
		}
		n, _ := strconv.Atoi(r.Revision)
		r.Revision = strconv.Itoa(n) // "01" is revision 1, as for the original pcocc
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		r.Repo, name = name[:i], name[i+1:]
		if err := ValidateRepo(r.Repo); err != nil {
			return Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
		}
	}
	if err := ValidateName(name); err != nil {
		return Ref{}, fmt.Errorf("parsing image reference %q: %w", s, err)
	}
	r.Name = name
	return r, nil
}

// ValidateName checks an image name: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most
// MaxNameLen bytes. The first character is alphanumeric so that a name is
// never ".", ".." or a hidden file, nor mistaken for a command-line option.
func ValidateName(name string) error {
	return validate("image name", name, MaxNameLen, "_.+-")
}

// ValidateRepo checks a repository name: [A-Za-z0-9][A-Za-z0-9_-]*, at most
// MaxRepoLen bytes.
func ValidateRepo(repo string) error {
	return validate("repository name", repo, MaxRepoLen, "_-")
}

func validate(what, s string, max int, punct string) error {
	switch {
	case s == "":
		return invalidf("empty %s", what)
	case len(s) > max:
		return invalidf("%s %q is longer than %d characters", what, s, max)
	case !isAlnum(s[0]):
		return invalidf("%s %q must start with a letter or a digit", what, s)
	}
	for _, c := range s {
		if c >= 0x80 || !isAlnum(byte(c)) && !strings.ContainsRune(punct, c) {
			return invalidf("%s %q contains %q (allowed: letters, digits, %s)",
				what, s, c, quoteChars(punct))
		}
	}
	return nil
}

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quoteChars lists punctuation for error messages: "'_', '.', '+', '-'".
func quoteChars(punct string) string {
	parts := make([]string, len(punct))
	for i := range len(punct) {
		parts[i] = "'" + punct[i:i+1] + "'"
	}
	return strings.Join(parts, ", ")
}
