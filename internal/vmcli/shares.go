package vmcli

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vm"
)

// shares checks a template's mount points and persistent drives on this
// host (paths expanded by the configuration) and gives them to the plan:
// what is missing is one line naming the template, before anything starts.
func shares(t config.VMTemplate) ([]vm.Mount, []vm.Drive, error) {
	var mounts []vm.Mount
	for _, m := range t.MountPoints {
		if err := checkMount(m); err != nil {
			return nil, nil, fmt.Errorf("template %q (%s): mount point %q: %w", t.Name, m.At, m.Tag, err)
		}
		mounts = append(mounts, vm.Mount{Tag: m.Tag, Path: m.Path, Readonly: m.Readonly})
	}
	var drives []vm.Drive
	for _, d := range t.PersistentDrives {
		format, err := checkDrive(d.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("template %q (%s): persistent drive %s: %w", t.Name, d.At, d.Path, err)
		}
		drives = append(drives, vm.Drive{Path: d.Path, Format: format, Cache: d.Cache, Share: driveShare(d.MMP)})
	}
	return mounts, drives, nil
}

func checkMount(m config.VMMountPoint) error {
	if m.Type == config.Mount9P {
		return fmt.Errorf("type %s is not supported (the guests' cloud kernels have no 9p): use %s", m.Type, config.MountVirtioFS)
	}
	if !validTag.MatchString(m.Tag) {
		return fmt.Errorf("the tag must be 1 to 36 letters, digits, '.', '_' or '-' (the guest mounts it by this name, on /mnt/TAG)")
	}
	if strings.Contains(m.Path, ",") {
		return fmt.Errorf("%s: a path with a comma cannot be shared (virtiofsd's options are comma-separated)", m.Path)
	}
	st, err := os.Stat(m.Path)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", m.Path, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("%s: not a directory", m.Path)
	}
	return nil
}

// validTag: virtio-fs tags are at most 36 bytes; the guest's mount
// directory is named after the tag.
var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,35}$`)

// qcow2Magic starts every qcow2 file.
var qcow2Magic = []byte("QFI\xfb")

// checkDrive: the drive must be a file the user can read and write; its
// format is qcow2 by its magic, else raw.
func checkDrive(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", unwrapPath(err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("not a regular file")
	}
	if err := unix.Access(path, unix.R_OK|unix.W_OK); err != nil {
		return "", fmt.Errorf("you cannot read and write it (%w)", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", unwrapPath(err)
	}
	defer f.Close()
	head := make([]byte, len(qcow2Magic))
	if n, _ := f.Read(head); n == len(head) && bytes.Equal(head, qcow2Magic) {
		return "qcow2", nil
	}
	return "raw", nil
}

func driveShare(mmp string) string {
	switch mmp {
	case "cluster":
		return vm.ShareCluster
	case "no":
		return vm.ShareAny
	}
	return vm.ShareNone
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
