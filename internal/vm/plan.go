package vm

import (
	"fmt"
	"path/filepath"
)

// Template is a VM template once its image is resolved to a file.
type Template struct {
	Name string
	// Image is the qcow2 file the VM's overlay backs onto; "" for a VM with
	// no disk (a kernel and initrd only). ImageRef names its revision
	// ([REPO:]NAME@REV), for save.
	Image, ImageRef        string
	Kernel, Initrd, Append string
	Cores                  int // per VM; 0: the cluster's default
	MemMiB                 int // per VM; 0: the cluster's default
	QemuBin                string
	MachineType, CPUModel  string
	NICModel, DiskModel    string
	DiskCache              string
	CustomArgs             []string
	// Ports are guest TCP ports reachable from the host, besides 22.
	Ports []int
	// Mounts are host directories shared through virtio-fs; Drives are
	// persistent drives.
	Mounts []Mount
	Drives []Drive
}

// Resources are the cluster-wide choices (-c, -m) and what the node has.
type Resources struct {
	Cores, MemMiB         int // per VM, from the command line; 0: template or default
	NodeCores, NodeMemMiB int // what the node has; 0: unknown, not checked
}

// Defaults when neither the command line nor the template says.
const (
	DefaultCores  = 1
	DefaultMemMiB = 1024
)

// Files are a VM's files in the job directory.
type Files struct {
	Overlay, QMP, Console, ConsoleLog, QemuLog string
	Seed                                       string // cloud-init NoCloud seed (ISO)
}

// FilesFor names VM i's files in dir. Socket paths stay short (108 bytes).
func FilesFor(dir string, i int) Files {
	n := fmt.Sprintf("vm%d", i)
	return Files{
		Overlay:    filepath.Join(dir, n+".qcow2"),
		QMP:        filepath.Join(dir, n+".qmp"),
		Console:    filepath.Join(dir, n+".con"),
		ConsoleLog: filepath.Join(dir, n+".log"),
		QemuLog:    filepath.Join(dir, n+".qemu"),
		Seed:       filepath.Join(dir, n+"-seed.iso"),
	}
}

// VM is one planned virtual machine.
type VM struct {
	Index    int
	Name     string // vmN
	Template Template
	Cores    int
	MemMiB   int
	MAC      string
	Files    Files
	// HasSeed: the VM gets Files.Seed as a second, read-only disk.
	HasSeed bool
}

// Plan expands requests into VMs vm0..vmN-1 in the order given, checking
// that the node can hold them before anything starts.
func Plan(reqs []Request, lookup func(name string) (Template, error), res Resources, dir string) ([]VM, error) {
	var vms []VM
	cores, mem := 0, 0
	for _, r := range reqs {
		t, err := lookup(r.Template)
		if err != nil {
			return nil, err
		}
		for k := 0; k < r.Count; k++ {
			i := len(vms)
			v := VM{Index: i, Name: fmt.Sprintf("vm%d", i), Template: t,
				Cores: pick(res.Cores, t.Cores, DefaultCores), MemMiB: pick(res.MemMiB, t.MemMiB, DefaultMemMiB),
				MAC: MAC(i), Files: FilesFor(dir, i)}
			cores += v.Cores
			mem += v.MemMiB
			vms = append(vms, v)
		}
	}
	if res.NodeCores > 0 && cores > res.NodeCores {
		return nil, fmt.Errorf("the cluster needs %d cores and this node has %d: ask for fewer VMs or fewer cores (-c)", cores, res.NodeCores)
	}
	if res.NodeMemMiB > 0 && mem > res.NodeMemMiB {
		return nil, fmt.Errorf("the cluster needs %d MiB of memory and this node has %d MiB: ask for fewer VMs or less memory (-m)", mem, res.NodeMemMiB)
	}
	if err := checkDrives(vms); err != nil {
		return nil, err
	}
	return vms, nil
}

// pick returns the first positive value.
func pick(vals ...int) int {
	for _, v := range vals {
		if v > 0 {
			return v
		}
	}
	return 0
}

// MAC is VM i's address: locally administered (52:54:00 is QEMU's prefix),
// the same in every cluster so that DHCP leases can be static.
func MAC(i int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}
