package cli

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
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

// vmImageColumn is what template list shows as a VM template's image.
func vmImageColumn(t config.VMTemplate) string {
	if t.Image == "" && t.Kernel != "" {
		return "(kernel " + t.Kernel + ")"
	}
	return t.Image
}

// printVMTemplate prints every key with its value and where it comes from.
func printVMTemplate(w io.Writer, t config.VMTemplate) {
	fmt.Fprintf(w, "VM template: %s\nDefined at:  %s\n", t.Name, t.Source)
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
