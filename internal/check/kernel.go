package check

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// minKernel is the first Linux release that lets an unprivileged user mount
// both FUSE and overlayfs inside a user namespace.
var minKernel = [2]int{5, 11}

// Kernel checks the kernel release against minKernel.
func Kernel(ctx context.Context, e *Env) []Result {
	const item = "kernel"
	rel, err := e.Kernel()
	if err != nil {
		return []Result{warn(item, "reading the release: "+err.Error(), "")}
	}
	v, valid := parseRelease(rel)
	if !valid {
		return []Result{warn(item, fmt.Sprintf("cannot parse release %q", rel), "")}
	}
	if v[0] < minKernel[0] || v[0] == minKernel[0] && v[1] < minKernel[1] {
		return []Result{fail(item, fmt.Sprintf("Linux %s is older than %d.%d, needed for overlayfs in user namespaces", rel, minKernel[0], minKernel[1]),
			fmt.Sprintf("upgrade the kernel to %d.%d or later", minKernel[0], minKernel[1]))}
	}
	return []Result{ok(item, "Linux "+rel)}
}

// parseRelease reads MAJOR.MINOR from a release such as "6.1.0-13-amd64".
func parseRelease(rel string) ([2]int, bool) {
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	digits := strings.IndexFunc(parts[1]+"x", func(r rune) bool { return r < '0' || r > '9' })
	minor, err2 := strconv.Atoi(parts[1][:digits])
	return [2]int{major, minor}, err1 == nil && err2 == nil
}

// filesystems are the kernel file systems a launch or the Slurm plugin
// mounts, with why.
var filesystems = []struct{ name, why string }{
	{"overlay", "a writable layer and mount points over the image"},
	{"fuse", "images are mounted with FUSE"},
	{"squashfs", "kernel squashfs mounts by the Slurm plugin"},
}

// Filesystems checks /proc/filesystems. A missing entry is only a warning:
// the kernel loads a module on demand, and the namespace probes already
// tried overlay and fuse for real.
func Filesystems(ctx context.Context, e *Env) []Result {
	const item = "file systems"
	b, err := e.ReadFile("/proc/filesystems")
	if err != nil {
		return []Result{warn(item, "reading /proc/filesystems: "+err.Error(), "mount /proc")}
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			have[f[len(f)-1]] = true
		}
	}
	var found, missing, why []string
	for _, fs := range filesystems {
		if have[fs.name] {
			found = append(found, fs.name)
		} else {
			missing, why = append(missing, fs.name), append(why, fs.name+": "+fs.why)
		}
	}
	if len(missing) > 0 {
		return []Result{warn(item, fmt.Sprintf("not in /proc/filesystems: %s (%s)", strings.Join(missing, ", "), strings.Join(why, "; ")),
			"as root, modprobe "+strings.Join(missing, " ")+" (and list them in /etc/modules-load.d/)")}
	}
	return []Result{ok(item, strings.Join(found, ", "))}
}
