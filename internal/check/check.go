// Package check verifies, for the calling user, what launching a container
// needs: user namespaces, FUSE, the kernel, external programs, the
// configuration, the repositories and the Slurm plugin. Each check is a small
// function of an Env, so that tests can fake the host.
package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the outcome of one item.
type Status string

// Statuses, from best to worst.
const (
	OK      Status = "ok"
	Warning Status = "warning"
	Error   Status = "error"
)

// Result is one checked item. Fix is empty when Status is OK.
type Result struct {
	Item   string `json:"item"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Check examines one aspect of the host and returns its items.
type Check func(ctx context.Context, e *Env) []Result

// Checks are run in this order by Run; the order is the one an admin fixes
// things in (kernel features first, configuration last).
var Checks = []Check{
	Namespaces,
	Kernel,
	Filesystems,
	ImageCache,
	Programs,
	Configuration,
	HomeMount,
	Repositories,
	Slurm,
	Etcd,
}

// Run runs every check of Checks against e.
func Run(ctx context.Context, e *Env) []Result {
	var out []Result
	for _, c := range Checks {
		out = append(out, c(ctx, e)...)
	}
	return out
}

// Failed reports whether one result is an error.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Error {
			return true
		}
	}
	return false
}

// WriteText prints one line per item: status, item, detail and, for an item
// that is not ok, the fix. A multi-line detail (several configuration
// errors) continues on indented lines.
func WriteText(w io.Writer, rs []Result) error {
	for _, r := range rs {
		line := fmt.Sprintf("%-8s %s: %s", r.Status, r.Item, r.Detail)
		if r.Status != OK && r.Fix != "" {
			line += "; fix: " + r.Fix
		}
		line = strings.ReplaceAll(line, "\n", "\n         ")
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON prints the results as a JSON array.
func WriteJSON(w io.Writer, rs []Result) error {
	if rs == nil {
		rs = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

func ok(item, detail string) Result { return Result{Item: item, Status: OK, Detail: detail} }

func warn(item, detail, fix string) Result {
	return Result{Item: item, Status: Warning, Detail: detail, Fix: fix}
}

func fail(item, detail, fix string) Result {
	return Result{Item: item, Status: Error, Detail: detail, Fix: fix}
}
