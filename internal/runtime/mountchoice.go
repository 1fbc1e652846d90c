package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/squashfs"
	"github.com/pcocc/pcocc/internal/unpack"
)

// MountChoice is how a run mounts its image and why, in one line: what
// `pcocc run --dry-run` prints as "imageMount" and `pcocc run -v` logs.
type MountChoice struct {
	Mode   string `json:"mode"` // none, kernel, unpack, sqfuse or squashfuse_ll
	Reason string `json:"reason"`
}

func (c MountChoice) String() string { return "image mount: " + c.Mode + ": " + c.Reason }

// mountFacts is what the choice of an image mount depends on, gathered by
// gatherMountFacts so that chooseMount stays pure.
type mountFacts struct {
	HostRoot, Kernel bool
	// SlurmKernel: a Slurm step whose plugin may mount the image with the
	// kernel's squashfs (spank/kernel.c; the site may have turned it off).
	SlurmKernel bool
	Mode        squashfs.Mode // PCOCC_SQUASHFS_MOUNT's
	RepoMount   string        // the image's repository's "mount:" (config.RepoMounts)
	Size        int64         // of the squashfs file, in bytes
	MaxMiB      int64
	MaxSet      bool // MaxMiB comes from unpack.MaxEnv
	Cached      bool // already unpacked on this node
	Room        bool // the unpack cache's file system has room for it
}

// chooseMount says which mount the executor uses for the facts, and why.
// It follows prepare and unpackImage (root: the kernel; then
// PCOCC_SQUASHFS_MOUNT's mode, then the repository's "mount:"; auto: under
// Slurm the plugin's kernel mount, else unpack a small image when it is
// unpacked already or there is room, else sqfuse); it explains that choice
// and never changes it. An unpack that fails at run time falls back to FUSE
// with a warning of its own, as a kernel mount that fails on a node does
// to the user's mount (spank/helper.c).
func chooseMount(f mountFacts) MountChoice {
	switch {
	case f.HostRoot:
		return MountChoice{"none", "the host's root file system, no image"}
	case f.Kernel:
		return MountChoice{"kernel", "run as root: the kernel mounts the squashfs, no server and no copy"}
	case f.Mode == squashfs.ModeUnpack:
		return MountChoice{"unpack", squashfs.MountEnv + "=unpack, whatever the size; " + unpackState(f)}
	case f.Mode == squashfs.ModeSqfuse, f.Mode == squashfs.ModeSquashfuse:
		return MountChoice{string(f.Mode), squashfs.MountEnv + "=" + string(f.Mode)}
	case f.RepoMount == "unpack":
		return MountChoice{"unpack", repoSets + "unpack, whatever the size; " + unpackState(f)}
	case f.RepoMount == "fuse":
		return MountChoice{"sqfuse", repoSets + "fuse"}
	case f.SlurmKernel:
		c := MountChoice{"kernel", "under Slurm, the plugin mounts the squashfs with the kernel's driver on each node: no server, no copy to the node's disk, read at kernel speed"}
		if f.RepoMount == "kernel" {
			c.Reason = repoSets + "kernel; " + c.Reason
		}
		return c
	}
	c := chooseBySize(f)
	if f.RepoMount == "kernel" {
		c.Reason = repoSets + "kernel, which only the Slurm plugin does; " + c.Reason
	}
	return c
}

// repoSets starts the reasons that the image's repository decided.
const repoSets = "the image's repository sets mount: "

// chooseBySize is auto's choice without the kernel: unpack a small image,
// serve a large one with FUSE.
func chooseBySize(f mountFacts) MountChoice {
	limit := fmt.Sprintf("%s=%d", unpack.MaxEnv, f.MaxMiB)
	if !f.MaxSet {
		limit += " (the default)"
	}
	size := sizeText(f.Size) + " of squashfs"
	if f.Size > f.MaxMiB<<20 {
		return MountChoice{"sqfuse", fmt.Sprintf("%s > %s: unpacking would copy the image to every node's disk; FUSE reads only what the job touches", size, limit)}
	}
	if !f.Cached && !f.Room {
		return MountChoice{"sqfuse", fmt.Sprintf("%s ≤ %s, but the unpack cache's file system lacks the %s an unpack may write", size, limit, sizeText(unpack.Budget(f.Size)))}
	}
	return MountChoice{"unpack", fmt.Sprintf("%s ≤ %s, %s", size, limit, unpackState(f))}
}

func unpackState(f mountFacts) string {
	if f.Cached {
		return "already unpacked on this node"
	}
	return "unpacked on this node's disk by this run, kept for the next ones"
}

// sizeText writes a size for a reason: MiB below a GiB, else GiB, with one
// decimal when it is not whole.
func sizeText(n int64) string {
	unit, div := "MiB", float64(1<<20)
	if n >= 1<<30 {
		unit, div = "GiB", 1<<30
	}
	s := strconv.FormatFloat(float64(n)/div, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + unit
}

// ExplainMount gathers the facts of spec's image on this node and says
// which mount a run would use and why; it creates nothing.
func ExplainMount(spec *container.Spec) (MountChoice, error) {
	f, err := gatherMountFacts(spec)
	if err != nil {
		return MountChoice{}, err
	}
	return chooseMount(f), nil
}

// ChooseSlurmMount is ExplainMount for a Slurm step whose plugin offers
// the kernel mount: whether the step's helper hands the image to the
// plugin (Mode "kernel"), and why.
func ChooseSlurmMount(spec *container.Spec) (MountChoice, error) {
	f, err := gatherFacts(spec, true)
	if err != nil {
		return MountChoice{}, err
	}
	return chooseMount(f), nil
}

func gatherMountFacts(spec *container.Spec) (mountFacts, error) { return gatherFacts(spec, false) }

func gatherFacts(spec *container.Spec, slurmKernel bool) (mountFacts, error) {
	f := mountFacts{HostRoot: spec.HostRoot, Kernel: os.Geteuid() == 0 && !slurmKernel, SlurmKernel: slurmKernel, RepoMount: spec.RepoMount}
	if f.HostRoot || f.Kernel {
		return f, nil
	}
	var err error
	if f.Mode, err = squashfs.ModeFromEnv(); err != nil {
		return f, err
	}
	mode := effectiveMode(f.Mode, f.RepoMount)
	if mode != squashfs.ModeAuto && mode != squashfs.ModeUnpack || f.SlurmKernel && mode == squashfs.ModeAuto {
		return f, nil
	}
	st, err := os.Stat(spec.Rootfs)
	if err != nil {
		return f, fmt.Errorf("image %q: %w", spec.Image, err)
	}
	f.Size = st.Size()
	if f.MaxMiB, err = unpack.MaxMiB(); err != nil {
		return f, err
	}
	f.MaxSet = os.Getenv(unpack.MaxEnv) != ""
	if mode == squashfs.ModeAuto && f.Size > f.MaxMiB<<20 {
		return f, nil
	}
	e, err := unpack.Held(spec.Rootfs)
	f.Cached = err == nil && e != nil
	if e != nil {
		e.Close()
	}
	// A cache that cannot be used is not an error here: the run warns of it
	// and FUSE serves the image.
	f.Room = f.Cached || unpack.Room(spec.Rootfs)
	return f, nil
}

// effectiveMode is the mode the executor follows: PCOCC_SQUASHFS_MOUNT's
// when it names one (the user's choice for this run), else the
// repository's "mount:" (unpack; fuse is pcocc's FUSE server), else auto
// (kernel too, where the Slurm plugin is not there to mount it).
func effectiveMode(env squashfs.Mode, repoMount string) squashfs.Mode {
	if env != squashfs.ModeAuto {
		return env
	}
	switch repoMount {
	case "unpack":
		return squashfs.ModeUnpack
	case "fuse":
		return squashfs.ModeSqfuse
	}
	return squashfs.ModeAuto
}
