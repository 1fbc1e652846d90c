//go:build !pcocc_launcher

package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/pcocc/pcocc/internal/imageref"
)

// VMTemplate is a VM template of templates.yaml (docs/templates-yaml.md):
// an image and how to boot it. After LoadVM it holds its own keys and those
// it inherits; Set says which keys it or its ancestors wrote.
type VMTemplate struct {
	Name        string
	Description string // never inherited
	// Image is [REPO:]NAME[@REV] as written; empty for a template that
	// boots a kernel with no disk image.
	Image       string
	ResourceSet string
	Inherits    string
	// UserData is a cloud-config file (an absolute path after expansion);
	// UserDataInline is an inline mapping rendered as "#cloud-config" YAML.
	// At most one of them is set.
	UserData         string
	UserDataInline   string
	InstanceID       string
	MountPoints      []VMMountPoint
	PersistentDrives []VMDrive
	CustomArgs       []string
	QemuBin          string
	MachineType      string
	CPUModel         string
	NICModel         string
	DiskModel        string
	DiskCache        string
	EmulatorCores    int
	BindVCPUs        bool
	Kernel           string
	Initrd           string
	Append           string
	// Ports are guest TCP ports reachable from the host through reverse NAT,
	// besides 22.
	Ports []int
	// Auto is true for the template every VM image makes of its own name.
	Auto   bool
	Source Source
	// Set holds the keys written by the template (true) or inherited from
	// an ancestor (false); a key absent from Set has its default.
	Set map[string]bool
	// Chain lists the ancestors, parent first, each as "name (file:line:col)".
	Chain []string
}

// VMMountPoint is a host directory given to the guest (mount-points).
type VMMountPoint struct {
	Tag      string
	Path     string
	Readonly bool
	Type     string // "virtio-fs" (default) or "virtio-9p"
	At       Source
}

// VMDrive is a persistent drive, used in place (no overlay).
type VMDrive struct {
	Path  string
	Cache string // qemu cache mode; "writeback" by default
	MMP   string // "yes", "cluster" or "no"; "" for qemu's default
	At    Source
}

// Defaults of VM template keys (the original pcocc's where it had one).
const (
	DefaultMachineType = "pc"
	DefaultNICModel    = "virtio-net"
	DefaultDiskModel   = "virtio"
	DefaultDiskCache   = "unsafe"
	DefaultQemuBin     = "qemu-system-x86_64"
	MountVirtioFS      = "virtio-fs"
	Mount9P            = "virtio-9p"
)

// vmTemplateKeys are the keys of a VM template, in the order `template
// show` prints them.
var vmTemplateKeys = []string{
	"image", "resource-set", "inherits", "description", "user-data", "instance-id",
	"mount-points", "persistent-drives", "custom-args", "qemu-bin", "machine-type",
	"cpu-model", "nic-model", "disk-model", "disk-cache", "emulator-cores", "bind-vcpus",
	"kernel", "initrd", "append", "ports",
}

var (
	diskModels  = []string{"virtio", "virtio-scsi", "ide"}
	diskCaches  = []string{"none", "writeback", "writethrough", "directsync", "unsafe"}
	mountTypes  = []string{MountVirtioFS, Mount9P}
	mmpValues   = []string{"yes", "cluster", "no"}
	mountPtKeys = []string{"path", "readonly", "type"}
)

func newVMTemplate(name string, at Source) VMTemplate {
	return VMTemplate{
		Name: name, Source: at, Set: map[string]bool{},
		QemuBin: DefaultQemuBin, MachineType: DefaultMachineType, NICModel: DefaultNICModel,
		DiskModel: DefaultDiskModel, DiskCache: DefaultDiskCache, BindVCPUs: true,
	}
}

func (d *decoder) decodeVMTemplates(root ast.Node, layer int) []def[VMTemplate] {
	var out []def[VMTemplate]
	for _, p := range d.pairs(root, "", "a mapping of template names") {
		name, ok := d.defName(p, "", "template")
		if !ok {
			continue
		}
		if strings.HasPrefix(name, "_") {
			d.wrapf(p.Key, "", errors.New("names starting with _ are reserved"), "bad template name")
			continue
		}
		if t, ok := d.vmTemplate(name, p); ok {
			out = append(out, def[VMTemplate]{name: name, layer: layer, src: t.Source, val: t})
		}
	}
	return out
}

func (d *decoder) vmTemplate(name string, p *ast.MappingValueNode) (VMTemplate, bool) {
	t := newVMTemplate(name, d.at(p.Key))
	ctx := fmt.Sprintf("template %q", name)
	n := len(d.errs)
	d.fields(p.Value, ctx, vmTemplateKeys, func(k string, v ast.Node) {
		t.Set[k] = true
		d.vmTemplateKey(&t, k, v, ctx)
	})
	return t, len(d.errs) == n
}

// vmTemplateKey decodes one key of a VM template into t.
func (d *decoder) vmTemplateKey(t *VMTemplate, k string, v ast.Node, ctx string) {
	switch k {
	case "image":
		t.Image = d.str(v, ctx, k)
		d.vmImage(v, t.Image, ctx)
	case "resource-set":
		t.ResourceSet = d.str(v, ctx, k)
	case "inherits":
		t.Inherits = d.str(v, ctx, k)
	case "description":
		t.Description = d.str(v, ctx, k)
	case "user-data":
		d.userData(t, v, ctx)
	case "instance-id":
		t.InstanceID = d.str(v, ctx, k)
	case "mount-points":
		t.MountPoints = d.mountPoints(v, ctx)
	case "persistent-drives":
		t.PersistentDrives = d.drives(v, ctx)
	case "custom-args":
		for _, item := range d.list(v, ctx, k) {
			t.CustomArgs = append(t.CustomArgs, d.str(item, ctx, k))
		}
	case "qemu-bin":
		t.QemuBin = d.str(v, ctx, k)
	case "machine-type":
		t.MachineType = d.str(v, ctx, k)
	case "cpu-model":
		t.CPUModel = d.str(v, ctx, k)
	case "nic-model":
		t.NICModel = d.str(v, ctx, k)
	case "disk-model":
		t.DiskModel = d.oneOf(v, ctx, k, diskModels)
	case "disk-cache":
		t.DiskCache = d.oneOf(v, ctx, k, diskCaches)
	case "emulator-cores":
		t.EmulatorCores = d.integer(v, ctx, k, 0, 1024)
	case "bind-vcpus":
		t.BindVCPUs = d.boolean(v, ctx, k)
	case "kernel":
		t.Kernel = d.absPath(v, ctx, k)
	case "initrd":
		t.Initrd = d.absPath(v, ctx, k)
	case "append":
		t.Append = d.str(v, ctx, k)
	case "ports":
		for _, item := range d.list(v, ctx, k) {
			if p := d.integer(item, ctx, k, 1, 65535); p != 0 {
				t.Ports = append(t.Ports, p)
			}
		}
	}
}

// vmImage checks [REPO:]NAME[@REV]: REV is a revision number.
func (d *decoder) vmImage(n ast.Node, s, ctx string) {
	if s == "" {
		return
	}
	ref, rev, hasRev := strings.Cut(s, "@")
	if _, err := imageref.Parse(ref); err != nil {
		d.wrapf(n, ctx, err, "image")
		return
	}
	if _, err := strconv.ParseUint(rev, 10, 31); hasRev && err != nil {
		d.errorf(n, ctx, "image %q: the revision after @ is a number (NAME@2)", s)
	}
}

// userData: a file path, or an inline mapping kept as cloud-config text.
func (d *decoder) userData(t *VMTemplate, v ast.Node, ctx string) {
	v = d.resolve(v)
	if m, ok := v.(*ast.MappingNode); ok {
		var val map[string]any
		if err := yaml.NodeToValue(m, &val); err != nil {
			d.wrapf(v, ctx, err, "user-data")
			return
		}
		out, err := yaml.Marshal(val)
		if err != nil {
			d.wrapf(v, ctx, err, "user-data")
			return
		}
		t.UserDataInline = "#cloud-config\n" + string(out)
		return
	}
	t.UserData = d.absPath(v, ctx, "user-data")
}

func (d *decoder) mountPoints(n ast.Node, ctx string) []VMMountPoint {
	var out []VMMountPoint
	for _, p := range d.pairs(n, ctx+": mount-points", "a mapping of tags") {
		tag, ok := d.key(p, ctx)
		if !ok {
			continue
		}
		mctx := fmt.Sprintf("%s: mount point %q", ctx, tag)
		m := VMMountPoint{Tag: tag, Type: MountVirtioFS, At: d.at(p.Key)}
		if v := d.resolve(p.Value); !isMapping(v) {
			m.Path = d.absPath(v, mctx, "path") // "tag: /path"
		} else {
			var path ast.Node
			d.fields(v, mctx, mountPtKeys, func(k string, v ast.Node) {
				switch k {
				case "path":
					path, m.Path = v, d.absPath(v, mctx, k)
				case "readonly":
					m.Readonly = d.boolean(v, mctx, k)
				case "type":
					m.Type = d.oneOf(v, mctx, k, mountTypes)
				}
			})
			if path == nil {
				d.errorf(p.Key, mctx, "missing key \"path\"")
			}
		}
		out = append(out, m)
	}
	return out
}

func (d *decoder) drives(n ast.Node, ctx string) []VMDrive {
	var out []VMDrive
	for i, item := range d.list(n, ctx, "persistent-drives") {
		dctx := fmt.Sprintf("%s: persistent drive %d", ctx, i+1)
		item = d.resolve(item)
		dr := VMDrive{Cache: "writeback", At: d.at(item)}
		if !isMapping(item) {
			dr.Path = d.absPath(item, dctx, "path")
			out = append(out, dr)
			continue
		}
		// "- /path: {cache: none, mmp: no}", as the original pcocc wrote it.
		pairs := d.pairs(item, dctx, "a path or a mapping of one path")
		if len(pairs) != 1 {
			d.errorf(item, dctx, "expected one path, found %d", len(pairs))
			continue
		}
		dr.Path = d.absPath(pairs[0].Key, dctx, "path")
		d.fields(pairs[0].Value, dctx, []string{"cache", "mmp"}, func(k string, v ast.Node) {
			if k == "cache" {
				dr.Cache = d.oneOf(v, dctx, k, diskCaches)
			} else {
				dr.MMP = d.oneOf(v, dctx, k, mmpValues)
			}
		})
		out = append(out, dr)
	}
	return out
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

// oneOf decodes a string that must be one of allowed.
func (d *decoder) oneOf(n ast.Node, ctx, key string, allowed []string) string {
	s := d.str(n, ctx, key)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	if !d.hasErrorAt(n) {
		d.errorf(n, ctx, "%s: unknown value %q (expected one of: %s)", key, s, strings.Join(allowed, ", "))
	}
	return ""
}

// integer decodes a whole number in [lo, hi].
func (d *decoder) integer(n ast.Node, ctx, key string, lo, hi int) int {
	n = d.resolve(n)
	if _, ok := n.(*ast.IntegerNode); !ok {
		if !isNull(n) {
			d.errorf(n, ctx, "%s: expected a whole number, found %s", key, kind(n))
		}
		return 0
	}
	v, err := strconv.Atoi(scalarText(n))
	if err != nil || v < lo || v > hi {
		d.errorf(n, ctx, "%s: %s is out of range (%d to %d)", key, scalarText(n), lo, hi)
		return 0
	}
	return v
}

// absPath expands "~" and $VAR in a path, which must then be absolute.
func (d *decoder) absPath(n ast.Node, ctx, key string) string {
	raw := d.str(n, ctx, key)
	x, ok := d.expandPath(n, ctx, key, raw)
	if !ok {
		return ""
	}
	if len(x.unset) > 0 {
		d.errorf(n, ctx, "%s %q: $%s is not set", key, raw, strings.Join(x.unset, ", $"))
		return ""
	}
	if !strings.HasPrefix(x.value, "/") {
		d.errorf(n, ctx, "%s %q: not an absolute path", key, x.value)
		return ""
	}
	return x.value
}
