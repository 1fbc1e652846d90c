//go:build !pcocc_launcher

package config

import (
	"errors"
	"fmt"
	"sort"

	"github.com/goccy/go-yaml/ast"
)

// VMConfig is the VM side of the configuration (docs/templates-yaml.md,
// docs/vm-admin.md). Like Config, it never fails as a whole: each accessor
// returns the errors of the kinds it needs.
type VMConfig struct {
	templates []VMTemplate // resolved (inheritance applied), by name
	resources []ResourceSet
	networks  []Network
	batch     Batch
	errs      map[Kind][]error
}

// VM loads the VM configuration on first use: commands that run containers
// never read templates.yaml. Its errors count in c.Warnings from then on.
func (c *Config) VM() *VMConfig {
	if c.vm == nil {
		c.vm = LoadVM(c.dirs, c.env)
		for k, errs := range c.vm.errs {
			c.errs[k] = errs
		}
	}
	return c.vm
}

// LoadVM reads templates.yaml from every layer and resources.yaml,
// networks.yaml and batch.yaml from the system layer, with the built-in
// defaults below them (one "cluster" network, a "default" resource set that
// joins it, the local batch manager).
func LoadVM(dirs Dirs, env func(string) string) *VMConfig {
	v := &VMConfig{errs: map[Kind][]error{}}
	v.loadSystem(dirs.System, env)
	v.loadTemplates(dirs, env)
	return v
}

func (v *VMConfig) loadSystem(dir string, env func(string) string) {
	var nets []def[Network]
	var sets []def[ResourceSet]
	v.batch = Batch{Type: BatchLocal, Accelerator: "auto", EtcdPort: 2379, EtcdProto: "http"}
	if dir != "" {
		v.errs[KindNetworks] = eachFile(nil, dir, KindNetworks, env, func(d *decoder, root ast.Node) {
			for _, n := range d.decodeNetworks(root) {
				nets = append(nets, def[Network]{name: n.Name, src: n.Source, val: n})
			}
		})
		v.errs[KindResources] = eachFile(nil, dir, KindResources, env, func(d *decoder, root ast.Node) {
			for _, r := range d.decodeResources(root) {
				sets = append(sets, def[ResourceSet]{name: r.Name, src: r.Source, val: r})
			}
		})
		v.errs[KindBatch] = eachFile(nil, dir, KindBatch, env, func(d *decoder, root ast.Node) {
			v.batch = d.decodeBatch(root)
		})
	}
	if len(nets) == 0 {
		nets = []def[Network]{{name: DefaultNetwork, val: builtinNetwork()}}
	}
	if len(sets) == 0 {
		sets = []def[ResourceSet]{{name: DefaultResourceSet, val: builtinResourceSet()}}
	}
	wn, errs := merge(nets, "network")
	v.errs[KindNetworks] = append(v.errs[KindNetworks], errs...)
	v.networks = sortedVals(wn, func(n Network) string { return n.Name })
	ws, errs := merge(sets, "resource set")
	v.errs[KindResources] = append(v.errs[KindResources], errs...)
	v.resources = sortedVals(ws, func(r ResourceSet) string { return r.Name })
	v.checkResources()
}

// checkResources: each set names known networks; at most one is the default.
func (v *VMConfig) checkResources() {
	var def *ResourceSet
	for i, r := range v.resources {
		for _, n := range r.Networks {
			if _, err := v.Network(n); err != nil {
				v.errs[KindResources] = append(v.errs[KindResources], errorAt(r.Source, err, "resource set %q", r.Name))
			}
		}
		if r.Default && def != nil {
			v.errs[KindResources] = append(v.errs[KindResources],
				errorAt(r.Source, nil, "resource set %q: a second default (the first is %q at %s)", r.Name, def.Name, def.Source))
		} else if r.Default {
			def = &v.resources[i]
		}
	}
}

func (v *VMConfig) loadTemplates(dirs Dirs, env func(string) string) {
	var defs []def[VMTemplate]
	var errs []error
	for layer, dir := range dirs.layers() {
		errs = append(errs, eachFile(nil, dir, KindVMTemplates, env, func(d *decoder, root ast.Node) {
			defs = append(defs, d.decodeVMTemplates(root, layer)...)
		})...)
	}
	winners, merr := merge(defs, "template")
	errs = append(errs, merr...)
	r := &inheritance{defs: defs, done: map[int]*VMTemplate{}, busy: map[int]bool{}}
	var out []def[VMTemplate]
	for _, w := range winners {
		t, err := r.resolve(indexOf(defs, w))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := v.checkTemplate(t); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, def[VMTemplate]{name: t.Name, val: *t})
	}
	v.templates = sortedVals(out, func(t VMTemplate) string { return t.Name })
	v.errs[KindVMTemplates] = errs
}

func indexOf(defs []def[VMTemplate], w def[VMTemplate]) int {
	for i, d := range defs {
		if d.layer == w.layer && d.src == w.src && d.name == w.name {
			return i
		}
	}
	return -1
}

// checkTemplate gives the template its default resource set and checks
// the one it names.
func (v *VMConfig) checkTemplate(t *VMTemplate) error {
	if t.ResourceSet == "" {
		r, err := v.DefaultResourceSet()
		if err != nil {
			return errorAt(t.Source, err, "template %q names no resource-set", t.Name)
		}
		t.ResourceSet = r.Name
		return nil
	}
	if _, err := v.ResourceSet(t.ResourceSet); err != nil {
		return errorAt(t.Source, err, "template %q", t.Name)
	}
	return nil
}

// Templates returns every template of templates.yaml, resolved, sorted by
// name. The templates VM images make of their names are not in it: see
// ImageTemplate.
func (v *VMConfig) Templates() ([]VMTemplate, error) {
	return v.templates, v.Err(KindVMTemplates, KindResources, KindNetworks)
}

// Template returns the template called name; the error wraps ErrNotFound
// when templates.yaml defines none, and the caller then looks for a VM
// image of that name (ImageTemplate).
func (v *VMConfig) Template(name string) (VMTemplate, error) {
	if err := v.Err(KindVMTemplates, KindResources, KindNetworks); err != nil {
		return VMTemplate{}, err
	}
	return lookup(v.templates, name, "template", func(t VMTemplate) string { return t.Name })
}

// ImageTemplate is the template a VM image makes of its own name: the image
// (ref, as [REPO:]NAME[@REV]) with the default resource set and every
// other key at its default.
func (v *VMConfig) ImageTemplate(name, ref string) (VMTemplate, error) {
	r, err := v.DefaultResourceSet()
	if err != nil {
		return VMTemplate{}, err
	}
	t := newVMTemplate(name, Source{})
	t.Image, t.ResourceSet, t.Auto = ref, r.Name, true
	t.Description = "the image " + ref
	return t, nil
}

// ResourceSet returns the resource set called name.
func (v *VMConfig) ResourceSet(name string) (ResourceSet, error) {
	if err := v.Err(KindResources, KindNetworks); err != nil {
		return ResourceSet{}, err
	}
	return lookup(v.resources, name, "resource set", func(r ResourceSet) string { return r.Name })
}

// DefaultResourceSet returns the set marked default.
func (v *VMConfig) DefaultResourceSet() (ResourceSet, error) {
	for _, r := range v.resources {
		if r.Default {
			return r, nil
		}
	}
	return ResourceSet{}, fmt.Errorf("no resource set is the default (default: true in resources.yaml): %w", ErrNotFound)
}

// ResourceSets returns every resource set, sorted by name.
func (v *VMConfig) ResourceSets() ([]ResourceSet, error) {
	return v.resources, v.Err(KindResources, KindNetworks)
}

// Network returns the network called name.
func (v *VMConfig) Network(name string) (Network, error) {
	return lookup(v.networks, name, "network", func(n Network) string { return n.Name })
}

// Networks returns every network, sorted by name.
func (v *VMConfig) Networks() ([]Network, error) {
	return v.networks, v.Err(KindNetworks)
}

// Batch returns the batch manager settings (local when there is no
// batch.yaml).
func (v *VMConfig) Batch() (Batch, error) {
	return v.batch, v.Err(KindBatch)
}

// Err returns the errors of the given kinds joined, one per line.
func (v *VMConfig) Err(ks ...Kind) error {
	var all []error
	for _, k := range ks {
		all = append(all, v.errs[k]...)
	}
	return errors.Join(all...)
}

// inheritance resolves "inherits" over every definition, not only the
// winners: a template may extend the definition of its own name at a lower
// priority (a user's "debian" inheriting the site's "debian").
type inheritance struct {
	defs []def[VMTemplate]
	done map[int]*VMTemplate
	busy map[int]bool
}

func (r *inheritance) resolve(i int) (*VMTemplate, error) {
	if t, ok := r.done[i]; ok {
		return t, nil
	}
	t := r.defs[i].val
	t.Set = cloneSet(t.Set)
	if t.Inherits == "" {
		r.done[i] = &t
		return &t, nil
	}
	if r.busy[i] {
		return nil, errorAt(t.Source, nil, "template %q: inherits %q, which inherits it back (a cycle)", t.Name, t.Inherits)
	}
	r.busy[i] = true
	defer delete(r.busy, i)
	p := r.parent(i)
	if p < 0 {
		known := r.namesBelow(r.defs[i].layer)
		return nil, errorAt(t.Source, notFound("template", t.Inherits, known), "template %q: inherits", t.Name)
	}
	parent, err := r.resolve(p)
	if err != nil {
		return nil, err
	}
	inherit(&t, parent)
	t.Chain = append([]string{fmt.Sprintf("%s (%s)", parent.Name, parent.Source)}, parent.Chain...)
	r.done[i] = &t
	return &t, nil
}

// parent finds the definition t inherits: the one of that name at the
// highest priority not above t's own (strictly below for its own name), so
// a site template never inherits a user's.
func (r *inheritance) parent(i int) int {
	me := r.defs[i]
	best := -1
	for j, d := range r.defs {
		if j == i || d.name != me.val.Inherits || d.layer > me.layer || (d.name == me.name && d.layer == me.layer) {
			continue
		}
		if best < 0 || d.layer > r.defs[best].layer {
			best = j
		}
	}
	return best
}

func (r *inheritance) namesBelow(layer int) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range r.defs {
		if d.layer <= layer && !seen[d.name] {
			seen[d.name] = true
			out = append(out, d.name)
		}
	}
	sort.Strings(out)
	return out
}

func cloneSet(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// inherit copies into t every key it does not write, except description
// and inherits; Set records them as inherited (false).
func inherit(t, parent *VMTemplate) {
	for k := range parent.Set {
		if _, own := t.Set[k]; own || k == "description" || k == "inherits" {
			continue
		}
		t.Set[k] = false
		copyKey(t, parent, k)
	}
}

func copyKey(t, p *VMTemplate, k string) {
	switch k {
	case "image":
		t.Image = p.Image
	case "resource-set":
		t.ResourceSet = p.ResourceSet
	case "user-data":
		t.UserData, t.UserDataInline = p.UserData, p.UserDataInline
	case "instance-id":
		t.InstanceID = p.InstanceID
	case "mount-points":
		t.MountPoints = p.MountPoints
	case "persistent-drives":
		t.PersistentDrives = p.PersistentDrives
	case "custom-args":
		t.CustomArgs = p.CustomArgs
	case "qemu-bin":
		t.QemuBin = p.QemuBin
	case "machine-type":
		t.MachineType = p.MachineType
	case "cpu-model":
		t.CPUModel = p.CPUModel
	case "nic-model":
		t.NICModel = p.NICModel
	case "disk-model":
		t.DiskModel = p.DiskModel
	case "disk-cache":
		t.DiskCache = p.DiskCache
	case "emulator-cores":
		t.EmulatorCores = p.EmulatorCores
	case "bind-vcpus":
		t.BindVCPUs = p.BindVCPUs
	case "kernel":
		t.Kernel = p.Kernel
	case "initrd":
		t.Initrd = p.Initrd
	case "append":
		t.Append = p.Append
	case "ports":
		t.Ports = p.Ports
	}
}
