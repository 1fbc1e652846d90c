package envspec

import "strings"

// env is an ordered environment: variables keep the position where they were
// first set, so the result is stable and close to the image's own order.
type env struct {
	names []string
	vals  map[string]string
}

func newEnv(list []string) *env {
	e := &env{vals: make(map[string]string, len(list))}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue // not a variable; execve would pass it, but nobody can read it
		}
		e.set(k, v)
	}
	return e
}

func (e *env) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.names = append(e.names, k)
	}
	e.vals[k] = v
}

func (e *env) list() []string {
	out := make([]string, 0, len(e.names))
	for _, k := range e.names {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// Apply applies specs, in order (each one wins over the ones before), to the
// environment base, taking propagated values from host. Both lists are
// "NAME=VALUE" strings; the result is a new list and base is not modified.
// A name that appears twice in base keeps its last value.
func Apply(base, host []string, specs ...Spec) []string {
	e := newEnv(base)
	h := newEnv(host)
	for _, s := range specs {
		applyOne(e, h, s)
	}
	return e.list()
}

func applyOne(e, h *env, s Spec) {
	switch s.Kind {
	case Propagate:
		if v, ok := h.vals[s.Name]; ok {
			e.set(s.Name, v)
		}
	case Set:
		e.set(s.Name, s.Value)
	case Regex:
		for _, k := range h.names {
			if s.Re.MatchString(k) {
				e.set(k, h.vals[k])
			}
		}
	case Prefix, Suffix:
		if s.Value == "" {
			return // an empty element would mean "the current directory"
		}
		applyAffix(e, s)
	}
}

func applyAffix(e *env, s Spec) {
	switch s.Kind {
	case Prefix:
		e.set(s.Name, join(s.Value, e.vals[s.Name]))
	case Suffix:
		e.set(s.Name, join(e.vals[s.Name], s.Value))
	}
}

// join joins two PATH-like values with ':' without leaving an empty element
// (an empty element in PATH means the current directory: never add one).
func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ":" + b
}

// Lookup returns the value of name in a "NAME=VALUE" list (the last one wins).
func Lookup(list []string, name string) (string, bool) {
	val, found := "", false
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			val, found = v, true
		}
	}
	return val, found
}
