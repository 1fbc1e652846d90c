package vm

import (
	"fmt"
	"strings"
)

// Accel is the accelerator QEMU runs guests with.
type Accel string

const (
	AccelKVM Accel = "kvm"
	AccelTCG Accel = "tcg"
)

// Argv is the QEMU command line for v. netArgs are the -netdev options from
// the network (without the NIC device, added here); empty: no network.
// The console is a socket that keeps its log with or without a client; QMP
// drives the VM (reset, save, quit).
func Argv(v VM, accel Accel, netArgs []string) []string {
	t := v.Template
	a := []string{orDefault(t.QemuBin, "qemu-system-x86_64"),
		"-name", v.Name, "-nodefaults", "-no-user-config", "-display", "none",
		"-machine", orDefault(t.MachineType, "q35"),
		"-accel", accelOption(accel),
		"-cpu", orDefault(t.CPUModel, cpuFor(accel)),
		"-smp", fmt.Sprint(v.Cores), "-m", fmt.Sprintf("%dM", v.MemMiB),
		"-qmp", "unix:" + v.Files.QMP + ",server=on,wait=off",
		"-chardev", "socket,id=con,path=" + v.Files.Console + ",server=on,wait=off,logfile=" + v.Files.ConsoleLog,
		"-serial", "chardev:con",
	}
	if t.Image != "" {
		a = append(a, "-drive", "file="+v.Files.Overlay+",if=none,id=disk0,format=qcow2,cache="+orDefault(t.DiskCache, "writeback"))
		a = append(a, "-device", diskDevice(t.DiskModel)+",drive=disk0")
	}
	if v.HasSeed {
		a = append(a, "-drive", "file="+v.Files.Seed+",if=none,id=seed,format=raw,readonly=on",
			"-device", "virtio-blk-pci,drive=seed")
	}
	a = append(a, driveArgs(v)...)
	a = append(a, fsArgs(v)...)
	if len(netArgs) > 0 {
		a = append(a, netArgs...)
		a = append(a, "-device", orDefault(t.NICModel, "virtio-net-pci")+",netdev=net0,mac="+v.MAC)
	}
	if t.Kernel != "" {
		a = append(a, "-kernel", t.Kernel)
		if t.Initrd != "" {
			a = append(a, "-initrd", t.Initrd)
		}
		a = append(a, "-append", orDefault(t.Append, "console=ttyS0"))
	}
	return append(a, t.CustomArgs...)
}

// accelOption limits TCG's translation cache (1 GiB of address space by
// default per VM).
func accelOption(a Accel) string {
	if a == AccelTCG {
		return "tcg,tb-size=64"
	}
	return string(a)
}

func cpuFor(a Accel) string {
	if a == AccelKVM {
		return "host"
	}
	return "max"
}

func diskDevice(model string) string {
	switch strings.ToLower(model) {
	case "", "virtio":
		return "virtio-blk-pci"
	case "ide":
		return "ide-hd"
	default:
		return model
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
