package check

// The namespace probe. The parent re-executes pcocc (/proc/self/exe) with
// ProbeVerb as argv[1], in a new user and mount namespace where the caller
// is mapped to root, exactly as a launch does; the child (ProbeMain) then
// tries the mounts a launch needs, in its private namespace only, and says
// on stderr what failed:
//
//	parent (caller's uid)                child (uid 0 in a new userns + mntns)
//	Probe(mode) ── clone+exec ─────────> ProbeMain(mode)
//	                                      refuse if in the initial userns
//	                                      make / private, tmpfs on $TMPDIR
//	                                      mode overlay: overlayfs in the tmpfs
//	                                      mode fuse: open the device, mount fuse
//	            <── exit 0 / 1 + stderr ─ (the namespace dies with the child)

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProbeVerb is the hidden argv[1] that runs ProbeMain.
const ProbeVerb = "__pcocc_check_probe"

// probeExe is the program re-executed; tests keep the default, which is
// the test binary (its TestMain dispatches ProbeVerb).
var probeExe = "/proc/self/exe"

// Probe runs ProbeMain(mode, args...) in a new user and mount namespace.
func Probe(ctx context.Context, mode string, args ...string) error {
	cmd := exec.CommandContext(ctx, probeExe, append([]string{ProbeVerb, mode}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		GidMappingsEnableSetgroups: false,
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		return errors.New(msg)
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("creating a user namespace: %w", err)
	}
	return err
}

// ProbeMain is the child side of Probe; it returns the exit status.
func ProbeMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "probe: missing mode")
		return 2
	}
	if err := probeChild(args[0], args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func probeChild(mode string, args []string) error {
	// Mounting over $TMPDIR is only harmless in a namespace of our own:
	// refuse to run in the initial user namespace (pcocc run by hand).
	if m, err := os.ReadFile("/proc/self/uid_map"); err != nil || initialUserNS(string(m)) {
		return errors.New("probe: not in a new user namespace")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private in a mount namespace: %w", err)
	}
	dir := os.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		return fmt.Errorf("mounting a tmpfs in a user namespace: %w", err)
	}
	switch mode {
	case "userns":
		return nil
	case "overlay":
		return probeOverlay(dir)
	case "fuse":
		if len(args) != 1 {
			return errors.New("probe: fuse needs the device path")
		}
		return probeFuse(dir, args[0])
	}
	return fmt.Errorf("probe: unknown mode %q", mode)
}

// initialUserNS reports whether uid_map is the initial namespace's identity
// map of every uid; the probe's own map is "0 UID 1".
func initialUserNS(uidMap string) bool {
	f := strings.Fields(uidMap)
	return len(f) != 3 || f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

func mkdirs(dir string, names ...string) error {
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func probeOverlay(dir string) error {
	if err := mkdirs(dir, "lower", "upper", "work", "merged"); err != nil {
		return err
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir)
	if err := unix.Mount("overlay", filepath.Join(dir, "merged"), "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting overlayfs in a user namespace: %w", err)
	}
	return nil
}

// probeFuse mounts a FUSE file system with no daemon behind it: the mount
// itself is what a launch needs the kernel to allow; nothing reads it, and
// the connection is aborted when the child exits.
func probeFuse(dir, dev string) error {
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("opening %s in a user namespace: %w", dev, err)
	}
	defer f.Close()
	if err := mkdirs(dir, "fuse"); err != nil {
		return err
	}
	opts := fmt.Sprintf("fd=%d,rootmode=40000,user_id=0,group_id=0", f.Fd())
	target := filepath.Join(dir, "fuse")
	if err := unix.Mount("pcocc-check", target, "fuse", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mounting FUSE in a user namespace: %w", err)
	}
	return unix.Unmount(target, unix.MNT_DETACH)
}
