package slurm

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Result is what the helper tells the plugin once the node's container is
// up: whose namespaces the tasks join, where they start, and their
// environment.
type Result struct {
	Init int    // a process in the container's user and mount namespaces
	Cwd  string // the planned working directory
	// CwdStrict: Cwd was named by --ctr-workdir, so its absence is an
	// error; otherwise the task falls back to "/" like pcocc run.
	CwdStrict bool
	Env       []string // the planned environment, NAME=VALUE
}

// Write sends r as NUL-terminated "key=value" records, which C reads
// without a parser: init=PID, cwd=DIR, cwdstrict=1 (if so), then env=NAME=VALUE per
// variable, keep=PREFIX* or keep=NAME per kept task variable,
// default=NAME=VALUE per TaskDefaults entry, and "end"
// last, so that a helper that dies half-way is never taken for a success.
// Values cannot hold a NUL: they come from execve-style strings.
func (r Result) Write(w io.Writer) error {
	var b bytes.Buffer
	rec := func(k, v string) { b.WriteString(k + "=" + v + "\x00") }
	rec("init", strconv.Itoa(r.Init))
	rec("cwd", r.Cwd)
	if r.CwdStrict {
		rec("cwdstrict", "1")
	}
	for _, e := range r.Env {
		rec("env", e)
	}
	for _, p := range KeepPrefixes {
		rec("keep", p+"*")
	}
	for _, n := range KeepNames {
		rec("keep", n)
	}
	for _, d := range TaskDefaults {
		rec("default", d)
	}
	b.WriteString("end\x00")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("sending the container to the plugin: %w", err)
	}
	return nil
}
