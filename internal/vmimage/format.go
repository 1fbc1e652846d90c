package vmimage

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Formats are the disk image formats pcocc imports and exports.
var Formats = []string{"raw", "qcow2", "qed", "vdi", "vpc", "vmdk"}

// ErrUnknownFormat is the error of a format name that is not in Formats.
var ErrUnknownFormat = errors.New("unknown VM image format")

// ErrUnsupported is the error of a file whose format qemu-img recognises
// but pcocc does not import: the file's fault, not the command line's.
var ErrUnsupported = errors.New("not a format pcocc imports")

// ErrBadSize is the error of a size that ParseSize cannot read.
var ErrBadSize = errors.New("bad size")

// extFormats maps file extensions to formats. ".img" is left out: it is
// as often qcow2 (cloud images) as raw, so such a file is probed.
var extFormats = map[string]string{
	".raw": "raw", ".qcow2": "qcow2", ".qcow": "qcow2", ".qed": "qed",
	".vdi": "vdi", ".vpc": "vpc", ".vhd": "vpc", ".vmdk": "vmdk",
}

// CheckFormat refuses a format name pcocc does not handle.
func CheckFormat(f string) error {
	if !slices.Contains(Formats, f) {
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownFormat, f, strings.Join(Formats, ", "))
	}
	return nil
}

// FormatOf says a file's format from an explicit choice (flag, may be "")
// or its extension; "" means it must be probed.
func FormatOf(flag, file string) (string, error) {
	if flag != "" {
		return flag, CheckFormat(flag)
	}
	return extFormats[strings.ToLower(filepath.Ext(file))], nil
}

// ParseSize reads a disk size as qemu-img does: a number of bytes, or
// with a suffix K, M, G, T (powers of 1024; lower case and a trailing "B"
// or "iB" accepted, "10GiB"). Sizes are whole and positive.
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "bBiI")
	if num != s && strings.TrimRight(num, "kKmMgGtT") == num {
		return 0, fmt.Errorf("%w %q: a unit is K, M, G or T", ErrBadSize, s) // "10B", "10iB"
	}
	shift := 0
	if n := len(num); n > 0 {
		if i := strings.IndexByte("KMGT", upper(num[n-1])); i >= 0 {
			shift, num = 10*(i+1), num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w %q: expected a positive whole number with an optional unit K, M, G or T (10G)", ErrBadSize, s)
	}
	if v > (1<<62)>>shift {
		return 0, fmt.Errorf("%w %q: too large", ErrBadSize, s)
	}
	return v << shift, nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
