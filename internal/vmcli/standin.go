package vmcli

// Stand-ins until the work of the other VM helpers lands on main (issue
// 14): templates.yaml (h: config.LoadVM), the cluster network (g: vmnet),
// the user's SSH key (h: sshkeys) and image revisions (e: vmimage). Each
// is one function or type, replaced by a call to the real package.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/goccy/go-yaml"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// tplYAML is the part of a templates.yaml entry the stand-in reads.
type tplYAML struct {
	Image      string   `yaml:"image"`
	Kernel     string   `yaml:"kernel"`
	Initrd     string   `yaml:"initrd"`
	Append     string   `yaml:"append"`
	QemuBin    string   `yaml:"qemu-bin"`
	CustomArgs []string `yaml:"custom-args"`
	Ports      []int    `yaml:"ports"`
}

// templateLookup reads templates.yaml of the configuration directories
// (system, PCOCC_CONFIG_PATH, user; a later one wins). Image is a qcow2
// path for now; relative paths are from the file's directory.
func templateLookup(e *env) func(string) (vm.Template, error) {
	d := config.DefaultDirs(e.getenv)
	dirs := append(append([]string{d.System}, d.Path...), d.User)
	return func(name string) (vm.Template, error) {
		var t vm.Template
		found := false
		for _, dir := range dirs {
			file := filepath.Join(dir, "templates.yaml")
			b, err := os.ReadFile(file)
			if err != nil {
				continue
			}
			var m map[string]tplYAML
			if err := yaml.Unmarshal(b, &m); err != nil {
				return t, exitcode.Wrap(exitcode.Usage, fmt.Errorf("%s: %v", file, err))
			}
			y, ok := m[name]
			if !ok {
				continue
			}
			found = true
			t = vm.Template{Name: name, Image: rel(dir, y.Image), Kernel: rel(dir, y.Kernel), Initrd: rel(dir, y.Initrd),
				Append: y.Append, QemuBin: y.QemuBin, CustomArgs: y.CustomArgs, Ports: y.Ports}
		}
		if !found {
			return t, fmt.Errorf("no VM template or image named %q (pcocc template list)", name)
		}
		return t, nil
	}
}

func rel(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// userNet is QEMU's user-mode network per VM, with the VM's port 22 on a
// host loopback port: no VM-to-VM traffic (vmnet brings the cluster
// network).
type userNet struct{ ports map[string]map[int]int }

func newNetwork(ctx context.Context, job *vmjob.Job, vms []vm.VM) (*userNet, error) {
	n := &userNet{ports: map[string]map[int]int{}}
	for _, v := range vms {
		n.ports[v.Name] = map[int]int{}
		for _, guest := range append([]int{22}, v.Template.Ports...) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			n.ports[v.Name][guest] = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
	}
	return n, nil
}

func (n *userNet) NetArgs(i int) []string {
	opt := "user,id=net0"
	for guest, host := range n.ports[fmt.Sprintf("vm%d", i)] {
		opt += ",hostfwd=tcp:127.0.0.1:" + strconv.Itoa(host) + "-:" + strconv.Itoa(guest)
	}
	return []string{"-netdev", opt}
}

func (n *userNet) MAC(int) string { return "" }

func (n *userNet) Command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func (n *userNet) HostPort(vmName string, guestPort int) (int, bool) {
	p, ok := n.ports[vmName][guestPort]
	return p, ok
}

func (n *userNet) Close() error { return nil }

// userKey is the user's pcocc SSH key, "" for ssh's defaults.
func userKey(e *env) string {
	d := config.DefaultDirs(e.getenv)
	if d.User == "" {
		return ""
	}
	k := filepath.Join(d.User, "ssh", "id_ed25519")
	if _, err := os.Stat(k); err != nil {
		return ""
	}
	return k
}

// publishSave stores a saved layer. Until image revisions land it needs
// -d DEST, a file path, and the layer keeps its relative backing path.
func publishSave(ctx context.Context, e *env, template, image, dest, layer string, full bool) (string, error) {
	if dest == "" {
		return "", errors.New("save: new image revisions need the VM image repositories (not built yet): give -d FILE")
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", err
	}
	if !full {
		r, err := filepath.Rel(filepath.Dir(abs), image)
		if err != nil {
			r = image
		}
		if out, err := exec.CommandContext(ctx, "qemu-img", "rebase", "-u", "-b", r, "-F", "qcow2", layer).CombinedOutput(); err != nil {
			return "", fmt.Errorf("save: %s %v", out, err)
		}
	}
	if err := os.Rename(layer, abs); err != nil {
		return "", err
	}
	return abs, nil
}
