//go:build !pcocc_launcher

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/modules"
)

func newTemplateCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "template",
		Short: "List and show container and VM templates",
		Long: `A container template is an image with launch options (modules, env,
mounts), usable wherever an image name is. Templates are defined under
"containers:" in containers.yaml (see 'pcocc help templates').
A VM template is a VM image and how to boot it, defined in templates.yaml
(see 'pcocc help templates-yaml'); 'pcocc alloc TEMPLATE:N' starts N VMs.`,
	}
	c.AddCommand(newTemplateListCmd(g), newTemplateShowCmd(g))
	return c
}

func newTemplateListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List container and VM templates",
		Long: `List every template: name, kind (container or vm), image, description, the
file that defines it and the template it inherits. A container template marked
"shadows image" has the name of an image, which 'pcocc run NAME' no longer
reaches: use REPO:NAME for the image.`,
		Example: `  pcocc template list
  pcocc run my_template -- cmd`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, args []string) error {
			return runTemplateList(c.Context(), g)
		},
	}
}

func runTemplateList(ctx context.Context, g *Globals) error {
	cfg := g.config()
	tpls, err := cfg.Templates()
	vms, verr := cfg.VM().Templates()
	if err = errors.Join(err, verr); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	defined := map[string]bool{}
	for _, t := range vms {
		defined[t.Name] = true
	}
	vms = append(vms, imageTemplates(g, cfg.VM(), defined)...)
	g.warnOthers(append(vmTemplateKinds, config.KindContainers, config.KindRepositories)...)
	const format = "%-24s %-9s %-28s %s\n"
	row := func(a ...any) { fmt.Fprint(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " \n")+"\n") }
	res := g.resolver()
	row("Name", "Kind", "Image", "Description")
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	for _, t := range tpls {
		desc := t.Description
		if img := res.Shadowed(ctx, t); img != "" {
			desc = strings.TrimSpace(desc + " [shadows image " + img + "]")
		}
		row(t.Name, "container", t.Rootfs, desc)
		fmt.Fprintf(g.Stdout, "%-24s %s\n", "", "defined at "+t.Source.String())
	}
	for _, t := range vms {
		row(t.Name, "vm", vmImageColumn(t), t.Description)
		fmt.Fprintf(g.Stdout, "%-24s %s\n", "", vmTemplateOrigin(t))
	}
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	fmt.Fprintln(g.Stdout, plural(len(tpls)+len(vms), "template"))
	if set, err := g.repos(); err == nil {
		set.WarnSkipped() // an image shadowed there would not be seen
	}
	return nil
}

func newTemplateShowCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show what a template applies",
		Long: `Show a container template's root file system, then the modules it applies
(default ones unless no_defaults, then its own), and every mount and env entry
in the order a launch applies them, each with the file:line:col it comes from.
Generators are named, not run.
Show a VM template's settings, each marked as set by the template, inherited
(the chain of templates is listed) or default.`,
		Example: `  pcocc template show my_template
  pcocc template show host-passthrough`,
		Args:              exactArgs(1, "a template name"),
		ValidArgsFunction: onlyFirst(completeTemplates(g)),
		RunE: func(c *cobra.Command, args []string) error {
			return runTemplateShow(g, args[0])
		},
	}
}

func runTemplateShow(g *Globals, name string) error {
	cfg := g.config()
	t, err := cfg.Template(name)
	vt, verr := cfg.VM().Template(name)
	if errors.Is(verr, config.ErrNotFound) {
		if it, ierr := findImageTemplate(g, cfg.VM(), name); !errors.Is(ierr, config.ErrNotFound) {
			vt, verr = it, ierr
		}
	}
	switch {
	case err == nil && verr == nil:
		g.warnOthers(append(vmTemplateKinds, config.KindContainers)...)
		if err := showContainerTemplate(g, t); err != nil {
			return err
		}
		fmt.Fprintln(g.Stdout)
		printVMTemplate(g.Stdout, vt)
		return nil
	case err == nil && errors.Is(verr, config.ErrNotFound):
		g.warnOthers(config.KindContainers)
		return showContainerTemplate(g, t)
	case verr == nil && errors.Is(err, config.ErrNotFound):
		g.warnOthers(vmTemplateKinds...)
		printVMTemplate(g.Stdout, vt)
		return nil
	case errors.Is(err, config.ErrNotFound) && errors.Is(verr, config.ErrNotFound):
		return exitcode.Wrap(exitcode.Usage, err)
	}
	return exitcode.Wrap(exitcode.Usage, errors.Join(ignoreNotFound(err), ignoreNotFound(verr)))
}

func showContainerTemplate(g *Globals, t config.Template) error {
	r := &modules.Resolver{Config: g.config()}
	applied, err := r.Explain(modules.Request{Template: &t})
	if err != nil {
		return err
	}
	printTemplate(g.Stdout, t, applied)
	return nil
}

func printTemplate(w io.Writer, t config.Template, applied []modules.Applied) {
	fmt.Fprintf(w, "Template:    %s\nDefined at:  %s\n", t.Name, t.Source)
	rootfs := t.Rootfs
	if t.Host {
		rootfs += " (the host's root file system)"
	}
	fmt.Fprintf(w, "Rootfs:      %s\n", rootfs)
	if t.Description != "" {
		fmt.Fprintf(w, "Description: %s\n", t.Description)
	}
	fmt.Fprintf(w, "No defaults: %v\n\nApplied, lowest precedence first:\n", t.NoDefaults)
	for _, a := range applied {
		fmt.Fprintf(w, "  %s (%s), defined at %s\n", a.Origin, a.Why, a.Defined)
		for _, m := range a.Mounts {
			fmt.Fprintf(w, "    mount %-50s %s\n", describeMount(m), m.At)
		}
		for _, e := range a.Env {
			fmt.Fprintf(w, "    env   %-50s %s\n", e.Spec, e.At)
		}
		if a.Generator != "" {
			fmt.Fprintf(w, "    generator %q (run at launch)\n", a.Generator)
		}
	}
}

func describeMount(m config.Mount) string {
	src := m.Source
	if len(m.Unset) > 0 {
		src = m.Written
	}
	dst := m.Destination
	if dst == "" {
		dst = src
	}
	s := src + " -> " + dst
	var opts []string
	if m.Type == config.MountSquashfs {
		opts = append(opts, "squashfs")
	}
	if m.Readonly {
		opts = append(opts, "ro")
	}
	if m.Optional {
		opts = append(opts, "optional")
	}
	if len(m.Unset) > 0 {
		opts = append(opts, "unset: $"+strings.Join(m.Unset, ", $"))
	}
	if len(opts) > 0 {
		s += " (" + strings.Join(opts, ", ") + ")"
	}
	return s
}
