package config

import (
	"slices"
	"strings"
)

// aliases are spellings users bring from other tools (docker, apptainer)
// that are too far from ours for the edit distance to catch.
var aliases = map[string]string{
	"src":       "source",
	"dst":       "destination",
	"target":    "destination",
	"ro":        "readonly",
	"read-only": "readonly",
	"templates": "containers",
}

// suggest returns the known key closest to key, or "" if none is close
// enough to be a plausible typo.
func suggest(key string, known []string) string {
	k := strings.ToLower(key)
	if a, ok := aliases[k]; ok && slices.Contains(known, a) {
		return a
	}
	best, bestDist := "", -1
	for _, cand := range known {
		d := distance(k, cand)
		if len(k) >= 3 && strings.HasPrefix(cand, k) {
			d = 1 // an abbreviation: "desc", "dest"
		}
		// Allow two edits, more in long words ("repository"), never so
		// many that the typed key is mostly replaced ("ab" vs "env").
		if d > max(2, len(cand)/4) || d >= len(k) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = cand, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes (keys are
// ASCII).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Suggest returns the name of known closest to word, or "" if none is
// close enough to be a plausible typo: the one rule for every "did you
// mean" about names (keys, images, templates).
func Suggest(word string, known []string) string { return suggest(word, known) }
