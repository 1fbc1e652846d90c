package config

import (
	"fmt"
	"sort"
	"strings"
)

// def is one definition of a named thing, as read from one file.
type def[T any] struct {
	name  string
	layer int // index in Dirs.layers(): higher wins
	src   Source
	val   T
}

// merge keeps, for each name, the definition of the highest layer. Two
// definitions of one name in one layer are an error naming both places:
// there is no rule that would make one of them win. The winners come back
// in definition order: by layer, then file, then position in the file.
func merge[T any](defs []def[T], what string) ([]def[T], []error) {
	var errs []error
	winner := map[string]int{} // name -> index in defs
	for i, d := range defs {
		j, seen := winner[d.name]
		if seen && defs[j].layer == d.layer {
			errs = append(errs, errorAt(d.src, nil, "%s %q is already defined at %s (same priority)",
				what, d.name, defs[j].src))
			continue
		}
		winner[d.name] = i
	}
	var out []def[T]
	for i, d := range defs {
		if winner[d.name] == i {
			out = append(out, d)
		}
	}
	return out, errs
}

// notFound builds the error for an unknown name, listing the known ones.
func notFound(what, name string, known []string) error {
	if len(known) == 0 {
		return fmt.Errorf("%s %q: %w (none is defined)", what, name, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w (known: %s)", what, name, ErrNotFound, strings.Join(known, ", "))
}

// sortedVals returns the values of defs sorted by name, for listings.
func sortedVals[T any](defs []def[T], name func(T) string) []T {
	out := make([]T, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.val)
	}
	sort.SliceStable(out, func(i, j int) bool { return name(out[i]) < name(out[j]) })
	return out
}
