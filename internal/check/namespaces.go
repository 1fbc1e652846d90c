package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

const (
	itemUserns     = "user namespaces"
	itemFuseDev    = "FUSE device"
	itemOverlayNS  = "overlayfs in a user namespace"
	itemFuseNS     = "FUSE in a user namespace"
	maxUserNS      = "/proc/sys/user/max_user_namespaces"
	usernsClone    = "/proc/sys/kernel/unprivileged_userns_clone"
	apparmorUserns = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
)

// Namespaces creates a user namespace for real, then checks the FUSE device
// and the two mounts a launch makes inside the namespace.
func Namespaces(ctx context.Context, e *Env) []Result {
	userns := userNamespaces(ctx, e)
	dev := fuseDevice(e)
	out := []Result{userns, dev}
	if userns.Status == Error {
		skip := "not tested: user namespaces do not work"
		return append(out, warn(itemOverlayNS, skip, userns.Fix), warn(itemFuseNS, skip, userns.Fix))
	}
	out = append(out, probeResult(ctx, e, itemOverlayNS, "overlay"))
	if dev.Status == Error {
		return append(out, warn(itemFuseNS, "not tested: "+e.FuseDev+" is not usable", dev.Fix))
	}
	return append(out, probeResult(ctx, e, itemFuseNS, "fuse", e.FuseDev))
}

func probeResult(ctx context.Context, e *Env, item, mode string, args ...string) Result {
	if err := e.Probe(ctx, mode, args...); err != nil {
		return fail(item, err.Error(), "use Linux 5.11 or later (FUSE and overlayfs in user namespaces)")
	}
	return ok(item, "mounted")
}

func userNamespaces(ctx context.Context, e *Env) Result {
	limits := sysctls(e)
	if err := e.Probe(ctx, "userns"); err != nil {
		return fail(itemUserns, fmt.Sprintf("cannot create one: %v (%s)", err, limits), usernsFix(e))
	}
	return ok(itemUserns, "created a user and mount namespace ("+limits+")")
}

// sysctls formats the knobs that allow or limit user namespaces; the
// Debian/Ubuntu ones are shown only where the kernel has them.
func sysctls(e *Env) string {
	var parts []string
	for _, f := range []string{maxUserNS, usernsClone, apparmorUserns} {
		if v, found := readInt(e, f); found {
			parts = append(parts, fmt.Sprintf("%s=%d", sysctlName(f), v))
		}
	}
	return strings.Join(parts, ", ")
}

// usernsFix names the sysctl that blocks user namespaces, the first that
// has a blocking value.
func usernsFix(e *Env) string {
	if v, found := readInt(e, maxUserNS); found && v == 0 {
		return "as root, sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/)"
	}
	if v, found := readInt(e, usernsClone); found && v == 0 {
		return "as root, sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d/)"
	}
	if v, found := readInt(e, apparmorUserns); found && v != 0 {
		return "as root, sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile allowing userns for pcocc"
	}
	return "enable unprivileged user namespaces (kernel CONFIG_USER_NS; no seccomp or LSM policy denying unshare)"
}

func sysctlName(file string) string {
	return strings.ReplaceAll(strings.TrimPrefix(file, "/proc/sys/"), "/", ".")
}

func readInt(e *Env, file string) (int64, bool) {
	b, err := e.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

func fuseDevice(e *Env) Result {
	err := e.OpenRW(e.FuseDev)
	switch {
	case err == nil:
		return ok(itemFuseDev, e.FuseDev+" is readable and writable")
	case errors.Is(err, fs.ErrNotExist):
		return fail(itemFuseDev, e.FuseDev+" does not exist",
			"install the Debian package \"fuse3\", or as root: mknod -m 0666 /dev/fuse c 10 229")
	case errors.Is(err, fs.ErrPermission):
		return fail(itemFuseDev, fmt.Sprintf("%s is not readable and writable by you: %v", e.FuseDev, err),
			"as root, chmod 0666 "+e.FuseDev+" (make it persistent with a udev rule, or install \"fuse3\")")
	}
	return fail(itemFuseDev, err.Error(), "check that the fuse kernel module is loaded (modprobe fuse)")
}
