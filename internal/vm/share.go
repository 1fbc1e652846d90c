package vm

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mount is a host directory given to the guest through virtio-fs: one
// virtiofsd per mount and VM, QEMU connecting to its socket.
type Mount struct {
	Tag      string // the guest mounts it by this name (mount -t virtiofs TAG DIR)
	Path     string // absolute, checked to exist when the template is resolved
	Readonly bool
}

// Drive is a persistent drive: the file itself is the VM's disk (no
// overlay), kept after the cluster; save leaves it out.
type Drive struct {
	Path   string // absolute
	Format string // "raw" or "qcow2"
	Cache  string // QEMU cache mode; "" is writeback
	// Share says who else may open it while the VM runs: ShareNone (the
	// default: nobody), ShareCluster (the other VMs of the cluster), ShareAny
	// (anyone: no lock at all, the guests must coordinate).
	Share string
}

// Values of Drive.Share (templates.yaml's mmp: yes, cluster, no).
const (
	ShareNone    = ""
	ShareCluster = "cluster"
	ShareAny     = "any"
)

// FSSocket is the socket of VM v's virtiofsd for its k-th mount, in the
// job directory (0700: no one else can connect).
func (v VM) FSSocket(k int) string {
	return filepath.Join(filepath.Dir(v.Files.QMP), fmt.Sprintf("%s-fs%d.sock", v.Name, k))
}

// FSDaemonArgv is the command that serves v's k-th mount: virtiofsd (the
// program at bin) in a user namespace of its own that maps the user's
// subordinate ids (virtiofsd switches ids per request: one id is not
// enough), with a private /run for its pid file. A read-only mount is a
// read-only bind mount there: the guest cannot write whatever it mounts
// with. setpriv makes the daemon die with the process that started it
// (entering the user namespace clears the parent-death signal).
func FSDaemonArgv(v VM, k int, bin string) []string {
	m := v.Template.Mounts[k]
	script := `mount -t tmpfs none /run || exit 1
if [ "$3" = ro ]; then mount --bind -- "$1" "$1" && mount -o remount,bind,ro -- "$1" || exit 1; fi
exec setpriv --pdeathsig KILL -- "$4" --socket-path="$2" -o source="$1" -o sandbox=namespace -o cache=auto -f`
	ro := "rw"
	if m.Readonly {
		ro = "ro"
	}
	return []string{"unshare", "--user", "--map-root-user", "--map-auto", "--setgroups", "allow", "--mount",
		"--", "sh", "-c", script, "virtiofsd", m.Path, v.FSSocket(k), ro, bin}
}

// fsArgs are QEMU's options for v's mounts: vhost-user needs the guest's
// memory shared with the daemons (a memfd backend as large as -m).
func fsArgs(v VM) []string {
	if len(v.Template.Mounts) == 0 {
		return nil
	}
	a := []string{"-object", fmt.Sprintf("memory-backend-memfd,id=mem,size=%dM,share=on", v.MemMiB),
		"-numa", "node,memdev=mem"}
	for k, m := range v.Template.Mounts {
		a = append(a, "-chardev", fmt.Sprintf("socket,id=fs%d,path=%s", k, qemuEscape(v.FSSocket(k))),
			"-device", fmt.Sprintf("vhost-user-fs-pci,chardev=fs%d,tag=%s", k, qemuEscape(m.Tag)))
	}
	return a
}

// driveArgs attach v's persistent drives after its other disks, in the
// template's order (vdc, vdd... in a guest with a disk and a seed).
func driveArgs(v VM) []string {
	var a []string
	for k, d := range v.Template.Drives {
		opts := fmt.Sprintf("file=%s,if=none,id=pd%d,format=%s,cache=%s", qemuEscape(d.Path), k, orDefault(d.Format, "raw"), orDefault(d.Cache, "writeback"))
		dev := fmt.Sprintf("virtio-blk-pci,drive=pd%d", k)
		switch d.Share {
		case ShareCluster:
			dev += ",share-rw=on"
		case ShareAny:
			opts += ",file.locking=off"
			dev += ",share-rw=on"
		}
		a = append(a, "-drive", opts, "-device", dev)
	}
	return a
}

// qemuEscape doubles commas: QEMU's option syntax reads ",," as a comma.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// checkDrives refuses a cluster whose VMs would open one persistent drive
// at once, unless the template shares it (mmp: cluster or no).
func checkDrives(vms []VM) error {
	first := map[string]string{} // path -> the first VM that has it
	for _, v := range vms {
		for _, d := range v.Template.Drives {
			if other, ok := first[d.Path]; ok && d.Share == ShareNone {
				return fmt.Errorf("persistent drive %s: %s and %s would both use it (mmp: cluster in the template lets the VMs of one cluster share it)", d.Path, other, v.Name)
			} else if !ok {
				first[d.Path] = v.Name
			}
		}
	}
	return nil
}
