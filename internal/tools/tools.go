// Package tools finds the external programs pcocc relies on, and says which
// Debian package provides one when it is missing.
package tools

import (
	"errors"
	"fmt"
	"os/exec"
)

// packages maps a program to the Debian package that ships it. Programs not
// listed here are assumed to come from a package of the same name.
var packages = map[string]string{
	"tar2sqfs":           "squashfs-tools-ng",
	"sqfs2tar":           "squashfs-tools-ng",
	"rdsquashfs":         "squashfs-tools-ng",
	"gensquashfs":        "squashfs-tools-ng",
	"mksquashfs":         "squashfs-tools",
	"unsquashfs":         "squashfs-tools",
	"squashfuse":         "squashfuse",
	"squashfuse_ll":      "squashfuse",
	"fuse-overlayfs":     "fuse-overlayfs",
	"fusermount3":        "fuse3",
	"fusermount":         "fuse3",
	"umoci":              "umoci",
	"skopeo":             "skopeo",
	"qemu-img":           "qemu-utils",
	"qemu-system-x86_64": "qemu-system-x86",
	"srun":               "slurm-client",
	"salloc":             "slurm-client",
	"sbatch":             "slurm-client",
	"scontrol":           "slurm-client",
	"newuidmap":          "uidmap",
	"newgidmap":          "uidmap",
	"genisoimage":        "genisoimage",
	"busybox":            "busybox-static",
	"ip":                 "iproute2",
	"nft":                "nftables",
	"dnsmasq":            "dnsmasq-base",
	"nsenter":            "util-linux",
	"setpriv":            "util-linux",
}

// ErrNotFound is matched by every *MissingError.
var ErrNotFound = errors.New("program not found")

// MissingError says that a program is not on PATH and where to get it.
type MissingError struct {
	Program string
	Package string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found on PATH: install the Debian package %q", e.Program, e.Package)
}

// Is makes errors.Is(err, ErrNotFound) true for a *MissingError.
func (e *MissingError) Is(target error) bool { return target == ErrNotFound }

// Package returns the Debian package that provides program.
func Package(program string) string {
	if p, ok := packages[program]; ok {
		return p
	}
	return program
}

// Find returns the absolute path of program looked up on PATH.
func Find(program string) (string, error) {
	p, err := exec.LookPath(program)
	if err != nil {
		return "", &MissingError{Program: program, Package: Package(program)}
	}
	return p, nil
}
