package runtime

import (
	"testing"

	"github.com/pcocc/pcocc/internal/squashfs"
)

// TestChooseMount: each mount and its one-line reason, for the facts that
// lead to it; the choice is the executor's (prepare, unpackImage).
func TestChooseMount(t *testing.T) {
	const mib = 1 << 20
	auto := func(size int64, cached, room bool) mountFacts {
		return mountFacts{Mode: squashfs.ModeAuto, Size: size, MaxMiB: 512, Cached: cached, Room: room}
	}
	set := auto(3*mib, false, true)
	set.MaxSet, set.MaxMiB = true, 2
	for _, tc := range []struct {
		name string
		f    mountFacts
		want MountChoice
	}{
		{"host root", mountFacts{HostRoot: true, Kernel: true}, MountChoice{"none", "the host's root file system, no image"}},
		{"root", mountFacts{Kernel: true, Mode: squashfs.ModeAuto}, MountChoice{"kernel", "run as root: the kernel mounts the squashfs, no server and no copy"}},
		{"small, cached", auto(171*mib, true, false), MountChoice{"unpack", "171 MiB of squashfs ≤ PCOCC_UNPACK_MAX_MIB=512 (the default), already unpacked on this node"}},
		{"small, first run", auto(mib/2, false, true), MountChoice{"unpack", "0.5 MiB of squashfs ≤ PCOCC_UNPACK_MAX_MIB=512 (the default), unpacked on this node's disk by this run, kept for the next ones"}},
		{"small, no room", auto(100*mib, false, false), MountChoice{"sqfuse", "100 MiB of squashfs ≤ PCOCC_UNPACK_MAX_MIB=512 (the default), but the unpack cache's file system lacks the 656 MiB an unpack may write"}},
		{"at the limit", auto(512*mib, false, true), MountChoice{"unpack", "512 MiB of squashfs ≤ PCOCC_UNPACK_MAX_MIB=512 (the default), unpacked on this node's disk by this run, kept for the next ones"}},
		{"large", auto(2467*mib, true, true), MountChoice{"sqfuse", "2.4 GiB of squashfs > PCOCC_UNPACK_MAX_MIB=512 (the default): unpacking would copy the image to every node's disk; FUSE reads only what the job touches"}},
		{"limit set", set, MountChoice{"sqfuse", "3 MiB of squashfs > PCOCC_UNPACK_MAX_MIB=2: unpacking would copy the image to every node's disk; FUSE reads only what the job touches"}},
		{"unpack asked", mountFacts{Mode: squashfs.ModeUnpack, Size: 4 << 30}, MountChoice{"unpack", "PCOCC_SQUASHFS_MOUNT=unpack, whatever the size; unpacked on this node's disk by this run, kept for the next ones"}},
		{"sqfuse asked", mountFacts{Mode: squashfs.ModeSqfuse, Size: mib}, MountChoice{"sqfuse", "PCOCC_SQUASHFS_MOUNT=sqfuse"}},
		{"squashfuse_ll asked", mountFacts{Mode: squashfs.ModeSquashfuse}, MountChoice{"squashfuse_ll", "PCOCC_SQUASHFS_MOUNT=squashfuse_ll"}},
		{"slurm, kernel offered", mountFacts{Mode: squashfs.ModeAuto, SlurmKernel: true, Size: 4 << 30}, MountChoice{"kernel", "under Slurm, the plugin mounts the squashfs with the kernel's driver on each node: no server, no copy to the node's disk, read at kernel speed"}},
		{"slurm, sqfuse asked", mountFacts{Mode: squashfs.ModeSqfuse, SlurmKernel: true}, MountChoice{"sqfuse", "PCOCC_SQUASHFS_MOUNT=sqfuse"}},
		{"slurm, unpack asked", mountFacts{Mode: squashfs.ModeUnpack, SlurmKernel: true, Cached: true}, MountChoice{"unpack", "PCOCC_SQUASHFS_MOUNT=unpack, whatever the size; already unpacked on this node"}},
		{"repo unpack", mountFacts{Mode: squashfs.ModeAuto, RepoMount: "unpack", SlurmKernel: true, Size: 4 << 30}, MountChoice{"unpack", "the image's repository sets mount: unpack, whatever the size; unpacked on this node's disk by this run, kept for the next ones"}},
		{"repo fuse", mountFacts{Mode: squashfs.ModeAuto, RepoMount: "fuse", SlurmKernel: true}, MountChoice{"sqfuse", "the image's repository sets mount: fuse"}},
		{"repo fuse, env wins", mountFacts{Mode: squashfs.ModeUnpack, RepoMount: "fuse", Cached: true}, MountChoice{"unpack", "PCOCC_SQUASHFS_MOUNT=unpack, whatever the size; already unpacked on this node"}},
		{"repo kernel, slurm", mountFacts{Mode: squashfs.ModeAuto, RepoMount: "kernel", SlurmKernel: true}, MountChoice{"kernel", "the image's repository sets mount: kernel; under Slurm, the plugin mounts the squashfs with the kernel's driver on each node: no server, no copy to the node's disk, read at kernel speed"}},
		{"repo kernel, no slurm", func() mountFacts { f := auto(2467*mib, true, true); f.RepoMount = "kernel"; return f }(), MountChoice{"sqfuse", "the image's repository sets mount: kernel, which only the Slurm plugin does; 2.4 GiB of squashfs > PCOCC_UNPACK_MAX_MIB=512 (the default): unpacking would copy the image to every node's disk; FUSE reads only what the job touches"}},
		{"repo auto, slurm", mountFacts{Mode: squashfs.ModeAuto, RepoMount: "auto", SlurmKernel: true}, MountChoice{"kernel", "under Slurm, the plugin mounts the squashfs with the kernel's driver on each node: no server, no copy to the node's disk, read at kernel speed"}},
	} {
		if got := chooseMount(tc.f); got != tc.want {
			t.Errorf("%s: chooseMount(%+v)\n got %+v\nwant %+v", tc.name, tc.f, got, tc.want)
		}
	}
}

// TestEffectiveMode: the environment's mode wins, then the repository's.
func TestEffectiveMode(t *testing.T) {
	for _, tc := range []struct {
		env  squashfs.Mode
		repo string
		want squashfs.Mode
	}{
		{squashfs.ModeAuto, "", squashfs.ModeAuto},
		{squashfs.ModeAuto, "auto", squashfs.ModeAuto},
		{squashfs.ModeAuto, "kernel", squashfs.ModeAuto},
		{squashfs.ModeAuto, "unpack", squashfs.ModeUnpack},
		{squashfs.ModeAuto, "fuse", squashfs.ModeSqfuse},
		{squashfs.ModeSquashfuse, "unpack", squashfs.ModeSquashfuse},
		{squashfs.ModeUnpack, "fuse", squashfs.ModeUnpack},
	} {
		if got := effectiveMode(tc.env, tc.repo); got != tc.want {
			t.Errorf("effectiveMode(%q, %q) = %q, want %q", tc.env, tc.repo, got, tc.want)
		}
	}
}
