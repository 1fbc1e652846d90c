package vm

import (
	"fmt"
	"strconv"
	"strings"
)

// Request asks for Count VMs of one template.
type Request struct {
	Template string
	Count    int
}

// MaxVMs bounds a cluster on one node: more is a typo, not a plan.
const MaxVMs = 256

// ParseDef reads a cluster definition: TEMPLATE[:COUNT] joined by commas
// (COUNT defaults to 1), as `pcocc alloc img1:2,img2:1`.
func ParseDef(def string) ([]Request, error) {
	if strings.TrimSpace(def) == "" {
		return nil, fmt.Errorf("empty cluster definition: expected TEMPLATE[:COUNT][,TEMPLATE[:COUNT]...]")
	}
	var reqs []Request
	total := 0
	for _, part := range strings.Split(def, ",") {
		r, err := parseRequest(part)
		if err != nil {
			return nil, err
		}
		total += r.Count
		if total > MaxVMs {
			return nil, fmt.Errorf("cluster definition %q asks for more than %d VMs", def, MaxVMs)
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

func parseRequest(part string) (Request, error) {
	name, count, hasCount := strings.Cut(part, ":")
	// A template name may hold a repository prefix (user:img:2): the count
	// is after the last colon when it is a number.
	if i := strings.LastIndex(part, ":"); i >= 0 {
		if _, err := strconv.Atoi(part[i+1:]); err == nil {
			name, count, hasCount = part[:i], part[i+1:], true
		} else {
			name, hasCount = part, false
		}
	}
	if name == "" {
		return Request{}, fmt.Errorf("cluster definition: %q has no template name", part)
	}
	r := Request{Template: name, Count: 1}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return Request{}, fmt.Errorf("cluster definition: %q: the count must be a positive number", part)
		}
		r.Count = n
	}
	return r, nil
}
