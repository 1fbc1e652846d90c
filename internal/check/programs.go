package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/pcocc/pcocc/internal/lazy"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/tools"
)

// program is an external program pcocc runs. versionArgs is nil for a
// program with no version option (newuidmap).
type program struct {
	name        string
	required    bool
	why         string
	versionArgs []string
}

var programs = []program{
	{"tar2sqfs", true, "builds an image's squashfs at import", []string{"--version"}},
	{"squashfuse_ll", false, "mounts images at run time with PCOCC_SQUASHFS_MOUNT=squashfuse_ll", []string{"--version"}},
	{"fusermount3", true, "unmounts FUSE file systems", []string{"-V"}},
	{"newuidmap", false, "maps several uids, for images with files of several owners", nil},
}

// Programs checks that each program is on PATH and reports its version.
func Programs(ctx context.Context, e *Env) []Result {
	out := make([]Result, 0, len(programs))
	for _, p := range programs {
		if p.name == string(squashfs.ModeSquashfuse) && squashfs.Mode(e.FUSEServer) == squashfs.ModeSquashfuse {
			p.required = true // chosen instead of pcocc's own server
		}
		out = append(out, checkProgram(ctx, e, p))
	}
	return out
}

func checkProgram(ctx context.Context, e *Env, p program) Result {
	item := "program " + p.name
	path, err := e.LookPath(p.name)
	if err != nil {
		detail := fmt.Sprintf("not found on PATH (%s)", p.why)
		fix := fmt.Sprintf("install the Debian package %q", tools.Package(p.name))
		if p.required {
			return fail(item, detail, fix)
		}
		return warn(item, detail+"; optional", fix)
	}
	if p.versionArgs == nil {
		return ok(item, path)
	}
	// Some programs exit non-zero after printing their version
	// (squashfuse_ll): the output is what counts.
	text, _ := e.Output(ctx, path, p.versionArgs...)
	if v := version(text); v != "" {
		return ok(item, fmt.Sprintf("%s, version %s", path, v))
	}
	return ok(item, path+", version unknown")
}

var versionRE = lazy.Regexp(`\b\d+\.\d+(?:\.\d+)*\b`)

// version returns the first dotted number of a program's version output.
func version(text string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return versionRE().FindString(first)
}

var ctrOption = lazy.Regexp(`(?m)--ctr[=\s]`)

// Slurm checks whether srun knows the pcocc plugin's --ctr option.
func Slurm(ctx context.Context, e *Env) []Result {
	const item = "Slurm plugin"
	srun, err := e.LookPath("srun")
	if err != nil {
		return []Result{warn(item, "not in a Slurm environment (srun not found on PATH)",
			fmt.Sprintf("to use srun --ctr, install the Debian package %q and the pcocc SPANK plugin", tools.Package("srun")))}
	}
	text, err := e.Output(ctx, srun, "--help")
	if ctrOption().MatchString(text) {
		return []Result{ok(item, "srun --ctr is available")}
	}
	if err != nil {
		return []Result{warn(item, "not in a Slurm environment: srun --help failed: "+lastLine(text, err),
			"set SLURM_CONF, or check /etc/slurm/slurm.conf")}
	}
	return []Result{warn(item, "srun has no --ctr option: the pcocc SPANK plugin is not loaded",
		"add the pcocc SPANK plugin to Slurm's plugstack.conf on login and compute nodes (see the admin guide)")}
}

// lastLine is the most telling line of a failed command: its last one.
func lastLine(text string, err error) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return err.Error()
}
