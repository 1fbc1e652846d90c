//go:build !pcocc_launcher

package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// vmTemplateKinds are the kinds a VM template needs: its own file, and the
// resource sets and networks it is checked against.
var vmTemplateKinds = []config.Kind{config.KindVMTemplates, config.KindResources, config.KindNetworks}

func ignoreNotFound(err error) error {
	if errors.Is(err, config.ErrNotFound) {
		return nil
	}
	return err
}

// vmTemplateOrigin is the line under a VM template in template list.
func vmTemplateOrigin(t config.VMTemplate) string {
	if t.Auto {
		return "made of the VM image " + t.Image
	}
	where := "defined at " + t.Source.String()
	if t.Inherits != "" {
		where += ", inherits " + t.Inherits
	}
	return where
}

// vmImageColumn is what template list shows as a VM template's image.
func vmImageColumn(t config.VMTemplate) string {
	if t.Image == "" && t.Kernel != "" {
		return "(kernel " + t.Kernel + ")"
	}
	return t.Image
}

// printVMTemplate prints every key with its value and where it comes from.
func printVMTemplate(w io.Writer, t config.VMTemplate) {
	fmt.Fprintf(w, "VM template: %s\n", t.Name)
	if t.Auto {
		fmt.Fprintf(w, "Made of:     the VM image %s (every VM image is a template of its name)\n", t.Image)
	} else {
		fmt.Fprintf(w, "Defined at:  %s\n", t.Source)
	}
	if t.Description != "" {
		fmt.Fprintf(w, "Description: %s\n", t.Description)
	}
	for i, c := range t.Chain {
		if i == 0 {
			fmt.Fprintf(w, "Inherits:    %s\n", c)
		} else {
			fmt.Fprintf(w, "             then %s\n", c)
		}
	}
	fmt.Fprintln(w)
	for _, kv := range vmTemplateValues(t) {
		origin := "default"
		if own, ok := t.Set[kv[0]]; ok && own {
			origin = "set"
		} else if ok {
			origin = "inherited"
		}
		fmt.Fprintf(w, "  %-18s %-12s %s\n", kv[0], origin, kv[1])
	}
}

// vmTemplateValues lists a template's keys (inherits and description are
// in the header) and their values as text.
func vmTemplateValues(t config.VMTemplate) [][2]string {
	userData := t.UserData
	if t.UserDataInline != "" {
		userData = "(inline) " + strings.ReplaceAll(strings.TrimSpace(t.UserDataInline), "\n", "; ")
	}
	var mps, drives, ports []string
	for _, m := range t.MountPoints {
		s := m.Tag + "=" + m.Path + " (" + m.Type
		if m.Readonly {
			s += ", ro"
		}
		mps = append(mps, s+")")
	}
	for _, d := range t.PersistentDrives {
		s := d.Path + " (cache " + d.Cache
		if d.MMP != "" {
			s += ", mmp " + d.MMP
		}
		drives = append(drives, s+")")
	}
	for _, p := range t.Ports {
		ports = append(ports, strconv.Itoa(p))
	}
	return [][2]string{
		{"image", t.Image}, {"resource-set", t.ResourceSet}, {"user-data", userData},
		{"instance-id", t.InstanceID}, {"mount-points", strings.Join(mps, ", ")},
		{"persistent-drives", strings.Join(drives, ", ")}, {"custom-args", strings.Join(t.CustomArgs, " ")},
		{"qemu-bin", t.QemuBin}, {"machine-type", t.MachineType}, {"cpu-model", t.CPUModel},
		{"nic-model", t.NICModel}, {"disk-model", t.DiskModel}, {"disk-cache", t.DiskCache},
		{"emulator-cores", strconv.Itoa(t.EmulatorCores)}, {"bind-vcpus", strconv.FormatBool(t.BindVCPUs)},
		{"kernel", t.Kernel}, {"initrd", t.Initrd}, {"append", t.Append}, {"ports", strings.Join(ports, " ")},
	}
}

// imageTemplates are the templates VM images make of their names (what
// 'pcocc alloc NAME' starts when templates.yaml defines no NAME): one per
// name, from the first repository of the search order that has an image of
// that name, if that image is a VM image; none for a name in skip.
func imageTemplates(g *Globals, vmc *config.VMConfig, skip map[string]bool) []config.VMTemplate {
	set, err := g.repos()
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []config.VMTemplate
	for _, r := range set.Existing() {
		imgs, err := r.List()
		if err != nil {
			continue // image list reports it
		}
		for _, img := range imgs {
			if seen[img.Name] {
				continue
			}
			seen[img.Name] = true
			if skip[img.Name] || img.Meta.Type != imagemeta.TypeVM {
				continue
			}
			if t, err := imageTemplate(vmc, img.Repo.Name, img.Name); err == nil {
				out = append(out, t)
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// imageTemplate is the template of VM image NAME of repository repoName.
func imageTemplate(vmc *config.VMConfig, repoName, name string) (config.VMTemplate, error) {
	t, err := vmc.ImageTemplate(name, repoName+":"+name)
	t.Set = map[string]bool{"image": true} // by the image: show marks it set
	return t, err
}

// findImageTemplate is the template of the VM image name resolves to, as
// alloc finds it; the error wraps config.ErrNotFound when there is none.
func findImageTemplate(g *Globals, vmc *config.VMConfig, name string) (config.VMTemplate, error) {
	notFound := fmt.Errorf("no VM template or image named %q: %w", name, config.ErrNotFound)
	if strings.ContainsAny(name, ":@") {
		return config.VMTemplate{}, notFound
	}
	img, err := g.findImage(name)
	if err != nil || img.Meta.Type != imagemeta.TypeVM {
		return config.VMTemplate{}, notFound
	}
	return imageTemplate(vmc, img.Repo.Name, img.Name)
}
