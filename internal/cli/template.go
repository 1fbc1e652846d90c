package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/modules"
)

// runTarget is what `pcocc run NAME` runs: an image, maybe through a
// template.
type runTarget struct {
	image    container.Image
	template *config.Template
}

// resolveTarget finds NAME: a template first (a template wins over an image
// of the same name), else an image. REPO:NAME is always an image.
func resolveTarget(ctx context.Context, g *Globals, name string) (runTarget, error) {
	cfg := g.config()
	if err := cfg.Err(config.KindContainers); err != nil {
		return runTarget{}, err
	}
	if !strings.Contains(name, ":") {
		t, err := cfg.Template(name)
		if err == nil {
			return templateTarget(ctx, g, t)
		}
		if !errors.Is(err, config.ErrNotFound) {
			return runTarget{}, err
		}
	}
	img, err := lookupImage(ctx, g, name)
	if _, src := sourceRef(cfg, name); err != nil && src {
		return runTarget{}, err // the import's own message
	}
	if err != nil {
		if herr := sourceHint(name); herr != nil {
			return runTarget{}, herr
		}
		return runTarget{}, noImageOrTemplate(g, name, err)
	}
	return runTarget{image: container.Image{Ref: name, Squashfs: img.Squashfs, Config: img.Meta.Config}}, nil
}

// noImageOrTemplate adds the known templates to an image lookup failure
// for a bare name, and the closest image or template name: the user may
// have mistyped either.
func noImageOrTemplate(g *Globals, name string, err error) error {
	if strings.Contains(name, ":") || !strings.Contains(err.Error(), "not found") {
		return err
	}
	tpls, _ := g.config().Templates()
	names := make([]string, 0, len(tpls))
	for _, t := range tpls {
		names = append(names, t.Name)
	}
	err = fmt.Errorf("%w, and no template %q (templates: %s)", err, name, strings.Join(names, ", "))
	for _, c := range imageNames(quietly(&Globals{cfg: g.config()})) {
		img, _, _ := strings.Cut(c, "\t") // a completion: NAME<TAB>description
		names = append(names, img)
	}
	if s := config.Suggest(name, names); s != "" {
		err = fmt.Errorf("%w; did you mean %q?", err, s)
	}
	return err
}

func templateTarget(ctx context.Context, g *Globals, t config.Template) (runTarget, error) {
	if t.Host {
		return runTarget{image: container.Image{Ref: t.Name, HostRoot: true}, template: &t}, nil
	}
	img, err := lookupImage(ctx, g, t.Rootfs)
	if err != nil {
		return runTarget{}, fmt.Errorf("template %q (%s): rootfs: %w", t.Name, t.Source, err)
	}
	return runTarget{
		image:    container.Image{Ref: t.Rootfs, Squashfs: img.Squashfs, Config: img.Meta.Config},
		template: &t,
	}, nil
}

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
		return WithCode(ExitUsage, err)
	}
	g.warnOthers(append(vmTemplateKinds, config.KindContainers, config.KindRepositories)...)
	const format = "%-24s %-9s %-28s %s\n"
	row := func(a ...any) { fmt.Fprint(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " \n")+"\n") }
	row("Name", "Kind", "Image", "Description")
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	for _, t := range tpls {
		desc := t.Description
		if img := shadowedImage(ctx, g, t); img != "" {
			desc = strings.TrimSpace(desc + " [shadows image " + img + "]")
		}
		row(t.Name, "container", t.Rootfs, desc)
		fmt.Fprintf(g.Stdout, "%-24s %s\n", "", "defined at "+t.Source.String())
	}
	for _, t := range vms {
		row(t.Name, "vm", vmImageColumn(t), t.Description)
		where := "defined at " + t.Source.String()
		if t.Inherits != "" {
			where += ", inherits " + t.Inherits
		}
		fmt.Fprintf(g.Stdout, "%-24s %s\n", "", where)
	}
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	fmt.Fprintln(g.Stdout, plural(len(tpls)+len(vms), "template"))
	if set, err := g.repos(); err == nil {
		set.warnSkipped() // an image shadowed there would not be seen
	}
	return nil
}

// shadowedImage returns the image a template hides, if any: a failed
// lookup is no error of this command.
func shadowedImage(ctx context.Context, g *Globals, t config.Template) string {
	img, err := lookupImage(ctx, g, t.Name)
	if err != nil {
		return ""
	}
	return img.Repo + ":" + img.Name
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
		return WithCode(ExitUsage, err)
	}
	return WithCode(ExitUsage, errors.Join(ignoreNotFound(err), ignoreNotFound(verr)))
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
