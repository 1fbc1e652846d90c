package vmcli

import (
	"errors"
	"fmt"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/resolve"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmimage"
)

// catalog is the configuration and the repositories, loaded once per
// command.
type catalog struct {
	e     *env
	cfg   *config.Config
	repos *resolve.Repos
	used  map[string]config.VMTemplate // by name: what Template returned
}

func newCatalog(e *env) *catalog {
	return &catalog{e: e, cfg: config.Load(config.DefaultDirs(e.getenv), e.getenv), used: map[string]config.VMTemplate{}}
}

// Repos are the configured image repositories.
func (c *catalog) Repos() (*resolve.Repos, error) {
	if c.repos == nil {
		defs, err := c.cfg.Repositories()
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, err)
		}
		c.repos = resolve.NewRepos(defs, func(msg string) { fmt.Fprintf(c.e.stderr, "%s: warning: %s\n", c.e.name, msg) })
	}
	return c.repos, nil
}

// Template finds a VM template: templates.yaml, else the VM image of that
// name (every VM image is a template of its own name). Its image is
// resolved to the revision's top layer.
func (c *catalog) Template(name string) (vm.Template, error) {
	vmc := c.cfg.VM()
	t, err := vmc.Template(name)
	if errors.Is(err, config.ErrNotFound) {
		t, err = vmc.ImageTemplate(name, name)
	}
	if err != nil {
		return vm.Template{}, exitcode.Wrap(exitcode.Usage, err)
	}
	c.used[name] = t
	out := vm.Template{Name: t.Name, Kernel: t.Kernel, Initrd: t.Initrd, Append: t.Append, QemuBin: t.QemuBin,
		MachineType: t.MachineType, CPUModel: t.CPUModel, NICModel: t.NICModel, DiskModel: t.DiskModel,
		DiskCache: t.DiskCache, CustomArgs: t.CustomArgs, Ports: t.Ports}
	if out.Mounts, out.Drives, err = shares(t); err != nil {
		return vm.Template{}, exitcode.Wrap(exitcode.Usage, err)
	}
	if t.Image == "" {
		return out, nil
	}
	rev, err := c.revision(t.Image)
	if err != nil {
		if t.Auto {
			return vm.Template{}, fmt.Errorf("no VM template or image named %q (pcocc template list, pcocc image list)", name)
		}
		return vm.Template{}, fmt.Errorf("template %q: %w", name, err)
	}
	if out.Image, err = rev.Path(); err != nil {
		return vm.Template{}, err
	}
	out.ImageRef = rev.Ref()
	return out, nil
}

// accelerator is the accelerator forced by PCOCC_VM_ACCEL, else by
// batch.yaml ("kvm" or "tcg"); "" or "auto": probe KVM.
func (c *catalog) accelerator() (string, error) {
	if a := c.e.getenv("PCOCC_VM_ACCEL"); a != "" {
		if a != "auto" && a != "kvm" && a != "tcg" {
			return "", exitcode.Wrap(exitcode.Usage, fmt.Errorf("PCOCC_VM_ACCEL=%q: expected kvm, tcg or auto", a))
		}
		return a, nil
	}
	b, err := c.cfg.VM().Batch()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Usage, err)
	}
	return b.Accelerator, nil
}

// revision finds the VM image revision ref names.
func (c *catalog) revision(ref string) (*vmimage.Revision, error) {
	rs, err := c.Repos()
	if err != nil {
		return nil, err
	}
	img, err := rs.Find(ref)
	if err != nil {
		return nil, err
	}
	return vmimage.FromImage(img)
}
