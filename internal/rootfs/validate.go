package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Errors that ValidateEntry wraps; match them with errors.Is.
var (
	ErrAbsolute    = errors.New("absolute name")
	ErrDotDot      = errors.New("name with a '..' component")
	ErrEscape      = errors.New("link target outside the root")
	ErrUnsupported = errors.New("unsupported entry type")
	ErrBadName     = errors.New("invalid name")
)

// Root is the name ValidateEntry gives to the root directory entry ("." or "./").
const Root = "."

// ValidateEntry checks one entry of an untrusted layer and returns its name
// normalised ("./a//b/" → "a/b") and, for a hard link, its normalised target.
// Absolute names, '..' components, hard links leaving the root and relative
// symbolic links that would resolve above the root are refused. Absolute
// symbolic link targets are accepted: they resolve inside the container root.
func ValidateEntry(h *tar.Header) (name, link string, err error) {
	name, err = cleanName(h.Name)
	if err != nil {
		return "", "", err
	}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeDir,
		tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return name, "", nil
	case tar.TypeLink:
		link, err = cleanName(h.Linkname)
		if err != nil {
			return "", "", hardLinkError(err)
		}
		if link == Root || link == name {
			return "", "", errors.New("hard link to itself or to the root")
		}
		return name, link, nil
	case tar.TypeSymlink:
		if err := checkSymlink(name, h.Linkname); err != nil {
			return "", "", err
		}
		return name, "", nil
	}
	return "", "", unsupportedType(h.Typeflag)
}

func hardLinkError(err error) error {
	if errors.Is(err, ErrAbsolute) || errors.Is(err, ErrDotDot) {
		return fmt.Errorf("%w: %w", ErrEscape, err)
	}
	return err
}

func unsupportedType(t byte) error {
	return &typeError{t}
}

type typeError struct{ flag byte }

func (e *typeError) Error() string {
	return "unsupported entry type " + quoteFlag(e.flag)
}

func (e *typeError) Is(target error) bool { return target == ErrUnsupported }

func quoteFlag(b byte) string {
	if b >= 0x20 && b < 0x7f {
		return "'" + string(b) + "'"
	}
	const hex = "0123456789abcdef"
	return "0x" + string([]byte{hex[b>>4], hex[b&15]})
}

// cleanName normalises a member name, refusing what could leave the root.
// A '..' component is refused even where it would stay inside ("a/../b"):
// legitimate layers never contain one.
func cleanName(n string) (string, error) {
	switch {
	case n == "":
		return "", ErrBadName
	case strings.IndexByte(n, 0) >= 0:
		return "", ErrBadName
	case n[0] == '/':
		return "", ErrAbsolute
	}
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", ErrDotDot
		}
	}
	return path.Clean(n), nil
}

// checkSymlink refuses a relative target that climbs above the root from the
// link's directory. The check is lexical: a climb through another symbolic
// link is harmless because the container root clamps '..' at '/'.
func checkSymlink(name, target string) error {
	switch {
	case target == "", strings.IndexByte(target, 0) >= 0:
		return errors.New("symbolic link with an invalid target")
	case target[0] == '/':
		return nil
	}
	depth := strings.Count(name, "/") // components of the link's directory
	if name == Root {
		return errors.New("root entry is a symbolic link")
	}
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return ErrEscape
			}
		default:
			depth++
		}
	}
	return nil
}
