package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func (l *layout) loadVM(t *testing.T, files map[string]string) *VMConfig {
	t.Helper()
	for k, v := range files {
		files[k] = replaceRoot(v, l.root)
	}
	writeFiles(t, l.root, files)
	return Load(DefaultDirs(envMap(l.env)), envMap(l.env)).VM()
}

const siteTemplates = `base:
  image: site:debian@2
  description: the site's Debian
  cpu-model: qemu64
  custom-args: [-device, virtio-rng-pci]
  mount-points:
    data: /data
    opt: {path: /opt, readonly: true, type: virtio-9p}
  user-data: ~/cloud.yaml
  ports: [8080]
debian:
  inherits: base
  description: a Debian
  disk-cache: writeback
`

func TestVMTemplateDecodeAndInherit(t *testing.T) {
	l := newLayout(t)
	v := l.loadVM(t, map[string]string{
		"etc/templates.yaml": siteTemplates,
		"home/.config/pcocc/templates.d/mine.yaml": `debian:
  inherits: debian
  kernel: ~/vmlinuz
  persistent-drives:
    - /scratch/disk.qcow2
    - /scratch/b.raw: {cache: none, mmp: cluster}
mine:
  inherits: debian
  user-data:
    packages: [htop]
`,
	})
	tpls, err := v.Templates()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, tp := range tpls {
		names = append(names, tp.Name)
	}
	if diff := cmp.Diff([]string{"base", "debian", "mine"}, names); diff != "" {
		t.Fatalf("names (-want +got):\n%s", diff)
	}
	sys := filepath.Join(l.sys, "templates.yaml")
	usr := filepath.Join(l.user, "templates.d", "mine.yaml")
	deb, _ := v.Template("debian")
	if deb.Image != "site:debian@2" || deb.CPUModel != "qemu64" || deb.DiskCache != "writeback" ||
		deb.Kernel != filepath.Join(l.home, "vmlinuz") || deb.Description != "" {
		t.Errorf("user debian = %+v", deb)
	}
	wantChain := []string{"debian (" + sys + ":11:1)", "base (" + sys + ":1:1)"}
	if diff := cmp.Diff(wantChain, deb.Chain); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	if deb.Set["kernel"] != true || deb.Set["disk-cache"] != false || deb.Set["image"] != false {
		t.Errorf("Set = %v", deb.Set)
	}
	if _, ok := deb.Set["description"]; ok {
		t.Errorf("description inherited: %v", deb.Set)
	}
	wantDrives := []VMDrive{
		{Path: "/scratch/disk.qcow2", Cache: "writeback", At: Source{usr, 5, 7}},
		{Path: "/scratch/b.raw", Cache: "none", MMP: "cluster", At: Source{usr, 6, 7}},
	}
	if diff := cmp.Diff(wantDrives, deb.PersistentDrives); diff != "" {
		t.Errorf("drives (-want +got):\n%s", diff)
	}
	wantMounts := []VMMountPoint{
		{Tag: "data", Path: "/data", Type: MountVirtioFS, At: Source{sys, 7, 5}},
		{Tag: "opt", Path: "/opt", Readonly: true, Type: Mount9P, At: Source{sys, 8, 5}},
	}
	if diff := cmp.Diff(wantMounts, deb.MountPoints); diff != "" {
		t.Errorf("mount points (-want +got):\n%s", diff)
	}
	mine, _ := v.Template("mine")
	if mine.UserDataInline != "#cloud-config\npackages:\n- htop\n" || mine.UserData != "" {
		t.Errorf("inline user-data = %q, file %q", mine.UserDataInline, mine.UserData)
	}
	if mine.ResourceSet != DefaultResourceSet || mine.Ports[0] != 8080 || !mine.BindVCPUs || mine.MachineType != "pc" {
		t.Errorf("mine = %+v", mine)
	}
	base, _ := v.Template("base")
	if base.UserData != filepath.Join(l.home, "cloud.yaml") || len(base.Chain) != 0 {
		t.Errorf("base = %+v", base)
	}
}

func TestVMTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml      string
		line, col       int
		msg             string
		siteTemplates   string
		wantNoTemplates bool
	}{
		{name: "unknown key", yaml: "a:\n  imag: x\n", line: 2, col: 3, msg: `template "a": unknown key "imag" (did you mean "image"?)`},
		{name: "bad disk model", yaml: "a:\n  disk-model: sata\n", line: 2, col: 15, msg: `disk-model: unknown value "sata" (expected one of: virtio, virtio-scsi, ide)`},
		{name: "bad port", yaml: "a:\n  ports: [0]\n", line: 2, col: 11, msg: "ports: 0 is out of range (1 to 65535)"},
		{name: "port not a number", yaml: "a:\n  ports: [ssh]\n", line: 2, col: 11, msg: `ports: expected a whole number, found the string "ssh"`},
		{name: "relative kernel", yaml: "a:\n  kernel: vmlinuz\n", line: 2, col: 11, msg: `kernel "vmlinuz": not an absolute path`},
		{name: "bad image", yaml: "a:\n  image: 'a b'\n", line: 2, col: 10, msg: "image"},
		{name: "bad revision", yaml: "a:\n  image: x@new\n", line: 2, col: 10, msg: `image "x@new": the revision after @ is a number`},
		{name: "unknown parent", yaml: "a:\n  inherits: nope\n", line: 1, col: 1, msg: `template "a": inherits: template "nope": not defined`},
		{name: "cycle", yaml: "a:\n  inherits: b\nb:\n  inherits: a\n", line: 1, col: 1, msg: "a cycle"},
		{name: "reserved name", yaml: "_a:\n  image: x\n", line: 1, col: 1, msg: "bad template name"},
		{name: "unknown resource set", yaml: "a:\n  resource-set: big\n", line: 1, col: 1, msg: `resource set "big": not defined (known: default)`},
		{name: "mount point without path", yaml: "a:\n  mount-points:\n    x: {readonly: true}\n", line: 3, col: 5, msg: `mount point "x": missing key "path"`},
		{name: "tab", yaml: "a:\n\timage: x\n", line: 2, col: 1, msg: "tabs"},
		// A system template never inherits a user's.
		{name: "site inherits user", yaml: "u:\n  image: x\n", siteTemplates: "s:\n  inherits: u\n", msg: `inherits: template "u": not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLayout(t)
			files := map[string]string{"home/.config/pcocc/templates.yaml": tc.yaml}
			file := "home/.config/pcocc/templates.yaml"
			if tc.siteTemplates != "" {
				files["etc/templates.yaml"] = tc.siteTemplates
				file, tc.line, tc.col = "etc/templates.yaml", 1, 1
			}
			v := l.loadVM(t, files)
			_, err := v.Templates()
			wantErr(t, l.root, err, file, tc.line, tc.col, tc.msg)
		})
	}
}

func TestVMSystemFiles(t *testing.T) {
	l := newLayout(t)
	v := l.loadVM(t, map[string]string{
		"etc/networks.yaml": `cluster:
  type: ethernet
  settings:
    network: 10.77.0.0/16
    domain-name: test
    reverse-nat: {vm-port: 22, min-host-port: 20000, max-host-port: 21000}
other:
  type: eth
`,
		"etc/resources.yaml": "default:\n  networks: [cluster]\n  default: true\ntwo:\n  networks: [cluster, other]\n",
		"etc/batch.yaml":     "type: local\nsettings:\n  accelerator: tcg\n",
		// Not read: a user may not define networks or the batch manager.
		"home/.config/pcocc/networks.yaml": "evil: {type: ethernet}\n",
		"home/.config/pcocc/batch.yaml":    "type: slurm\n",
	})
	nets, err := v.Networks()
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 2 || nets[0].Subnet.String() != "10.77.0.0/16" || nets[0].Domain != "test" ||
		nets[0].ReverseNAT != (ReverseNAT{22, 20000, 21000}) || nets[1].Type != NetEthernet {
		t.Errorf("networks = %+v", nets)
	}
	r, err := v.ResourceSet("two")
	if err != nil || !cmp.Equal(r.Networks, []string{"cluster", "other"}) {
		t.Errorf("two = %+v, %v", r, err)
	}
	b, err := v.Batch()
	if err != nil || b.Type != BatchLocal || b.Accelerator != "tcg" {
		t.Errorf("batch = %+v, %v", b, err)
	}
	it, err := v.ImageTemplate("deb", "user:deb")
	if err != nil || !it.Auto || it.Image != "user:deb" || it.ResourceSet != "default" {
		t.Errorf("image template = %+v, %v", it, err)
	}
}

func TestVMSystemDefaultsAndErrors(t *testing.T) {
	l := newLayout(t)
	v := l.loadVM(t, map[string]string{})
	if n, err := v.Network(DefaultNetwork); err != nil || n.Subnet.String() != "10.200.0.0/24" {
		t.Errorf("built-in network = %+v, %v", n, err)
	}
	if r, err := v.DefaultResourceSet(); err != nil || r.Name != DefaultResourceSet {
		t.Errorf("built-in resource set = %+v, %v", r, err)
	}
	if b, err := v.Batch(); err != nil || b.Type != BatchLocal || b.Accelerator != "auto" {
		t.Errorf("built-in batch = %+v, %v", b, err)
	}
	for _, tc := range []struct{ file, yaml, msg string }{
		{"networks.yaml", "n:\n  type: ovs\n", `type: unknown value "ovs"`},
		{"networks.yaml", "n:\n  type: ethernet\n  settings: {network: 10.0.0.0/30}\n", "expected an IPv4 network"},
		{"networks.yaml", "1n:\n  type: ethernet\n", "bad network name"},
		{"resources.yaml", "r:\n  networks: [nope]\n", `network "nope": not defined`},
		{"resources.yaml", "a: {default: true}\nb: {default: true}\n", "a second default"},
		{"batch.yaml", "type: pbs\n", `type: unknown value "pbs"`},
		{"batch.yaml", "settings: {accelerator: kvm}\n", `missing key "type"`},
	} {
		l := newLayout(t)
		v := l.loadVM(t, map[string]string{"etc/" + tc.file: tc.yaml})
		err := v.Err(KindNetworks, KindResources, KindBatch)
		if err == nil || !strings.Contains(err.Error(), tc.msg) ||
			!strings.HasPrefix(err.Error(), filepath.Join(l.sys, tc.file)+":") {
			t.Errorf("%s %q: error %v, want %q", tc.file, tc.yaml, err, tc.msg)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v is not a *config.Error", tc.file, err)
		}
	}
}

// A broken templates.yaml is a warning for container commands, once the VM
// side was loaded, and never an error of theirs.
func TestVMErrorsAreWarnings(t *testing.T) {
	l := newLayout(t)
	c := l.load(t, map[string]string{"home/.config/pcocc/templates.yaml": "a: [\n"})
	if len(c.Warnings(KindContainers)) != 0 {
		t.Fatal("templates.yaml read before VM()")
	}
	c.VM()
	if w := c.Warnings(KindContainers); len(w) != 1 || !strings.Contains(w[0].Error(), "templates.yaml:") {
		t.Errorf("warnings = %v", w)
	}
	if _, err := c.Templates(); err != nil {
		t.Errorf("container templates: %v", err)
	}
}
