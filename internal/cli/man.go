//go:build !pcocc_launcher

package cli

// `pcocc man DIR` (hidden) writes the man pages: pcocc.1 and one
// pcocc-SUB-SUBSUB.1 per command, from the cobra definitions, and the
// topic pages (pcocc-containers.yaml.5, ...) from internal/helptext, so that
// `pcocc help TOPIC` and the man pages never differ. The roff is written by
// hand (a few requests of man(7)): it must render with
// `man -l --warnings` and `groff -ww -man -z` without a warning.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/pcocc/pcocc/internal/helptext"
	"github.com/pcocc/pcocc/internal/lazy"
)

// topicPages are the man pages made from help topics; the first topic of
// a page gives its NAME line, the others become its subsections.
var topicPages = []struct {
	name    string
	section string
	topics  []string
}{
	{"pcocc-containers.yaml", "5", []string{"containers", "modules", "templates"}},
	{"pcocc-repositories.yaml", "5", []string{"repositories"}},
	{"pcocc-templates.yaml", "5", []string{"templates-yaml"}},
	{"pcocc-slurm", "7", []string{"slurm"}},
	{"pcocc-environment", "7", []string{"environment"}},
	{"pcocc-vm-images", "7", []string{"vm-images"}},
	{"pcocc-vms", "7", []string{"vms"}},
	{"pcocc-docker-env", "7", []string{"docker-env"}},
}

func newManCmd(g *Globals) *cobra.Command {
	var docdir string
	c := &cobra.Command{
		Use:    "man [--docdir DIR] DIR",
		Short:  "Write the man pages to DIR",
		Hidden: true,
		Args:   exactArgs(1, "an output directory"),
		RunE: func(c *cobra.Command, args []string) error {
			files, err := writeManPages(c.Root(), args[0], docdir)
			if err == nil && g.Verbose {
				fmt.Fprintln(g.Stdout, strings.Join(files, "\n"))
			}
			return err
		},
	}
	// make install gives it: only the installation knows where it put docs/.
	c.Flags().StringVar(&docdir, "docdir", "", "where the full documentation is installed, named by every page")
	return c
}

// writeManPages writes every page into dir and returns their paths.
func writeManPages(root *cobra.Command, dir, docdir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the man page directory: %w", err)
	}
	pages := map[string]string{}
	for _, c := range manCommands(root) {
		pages[manName(c)+".1"] = commandPage(c, docdir)
	}
	for _, p := range topicPages {
		pages[p.name+"."+p.section] = topicPage(root, p.name, p.section, p.topics, docdir)
	}
	var files []string
	for _, name := range sortedKeys(pages) {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(withFallbacks(pages[name])), 0o644); err != nil {
			return files, fmt.Errorf("writing man page: %w", err)
		}
		files = append(files, path)
	}
	return files, nil
}

// manCommands returns root and every command a user can run, depth first.
func manCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			out = append(out, manCommands(sub)...)
		}
	}
	return out
}

func manName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// glyphFallbacks are printed where the output device lacks a character
// (groff's terminal devices have no "⛔", for instance).
var glyphFallbacks = map[string]string{"26D4": "(forbidden sign)"}

var unicodeEscape = lazy.Regexp(`\\\[u([0-9A-F]{4,6})\]`)

// withFallbacks defines, after the .TH line, a fallback for each Unicode
// character of page, so that groff prints it instead of warning.
func withFallbacks(page string) string {
	var defs []string
	seen := map[string]bool{}
	for _, m := range unicodeEscape().FindAllStringSubmatch(page, -1) {
		if seen[m[1]] {
			continue
		}
		seen[m[1]] = true
		fb, known := glyphFallbacks[m[1]]
		if !known {
			fb = "?"
		}
		defs = append(defs, fmt.Sprintf(".if !c\\[u%s] .char \\[u%s] %s\n", m[1], m[1], fb))
	}
	th, rest, _ := strings.Cut(page, "\n")
	return th + "\n" + strings.Join(defs, "") + rest
}

func manHeader(b *strings.Builder, name, section, summary string) {
	fmt.Fprintf(b, ".TH \"%s\" %s \"\" \"pcocc %s\" \"pcocc manual\"\n", strings.ToUpper(helptext.Escape(name)), section, helptext.Escape(Version))
	b.WriteString(".SH NAME\n")
	fmt.Fprintf(b, "%s \\- %s\n", helptext.Escape(name), helptext.Escape(summary))
}

func commandPage(c *cobra.Command, docdir string) string {
	var b strings.Builder
	manHeader(&b, manName(c), "1", c.Short)
	b.WriteString(".SH SYNOPSIS\n")
	use := strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name()))
	fmt.Fprintf(&b, ".B %s\n", helptext.Escape(c.CommandPath()))
	if use != "" {
		b.WriteString(helptext.Escape(use) + "\n")
	} else if c.HasAvailableSubCommands() {
		b.WriteString("COMMAND\n")
	}
	b.WriteString(".SH DESCRIPTION\n")
	b.WriteString(plainRoff(firstNonEmpty(c.Long, c.Short)))
	manFlags(&b, "OPTIONS", c.NonInheritedFlags())
	manFlags(&b, "GLOBAL OPTIONS", c.InheritedFlags())
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.PP\n.RS 4\n.nf\n")
		for _, l := range strings.Split(strings.Trim(c.Example, "\n"), "\n") {
			b.WriteString(codeLine(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".fi\n.RE\n")
	}
	manDocs(&b, docdir)
	manSeeAlso(&b, c)
	return b.String()
}

func firstNonEmpty(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// plainRoff renders a cobra Long text: paragraphs separated by blank lines;
// a paragraph with an indented line is kept as typed (commands, tables).
func plainRoff(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.Trim(text, "\n"), "\n\n") {
		lines := strings.Split(strings.Trim(para, "\n"), "\n")
		pre := false
		for _, l := range lines {
			pre = pre || strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")
		}
		b.WriteString(".PP\n")
		if pre {
			b.WriteString(".nf\n")
		}
		for _, l := range lines {
			b.WriteString(codeLine(l) + "\n")
		}
		if pre {
			b.WriteString(".fi\n")
		}
	}
	return b.String()
}

// codeLine escapes a line for no-fill mode, where it is printed as is.
func codeLine(l string) string {
	if strings.TrimSpace(l) == "" {
		return `\&`
	}
	return helptext.Escape(l)
}

func manFlags(b *strings.Builder, title string, fs *pflag.FlagSet) {
	if !fs.HasAvailableFlags() {
		return
	}
	b.WriteString(".SH " + title + "\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		b.WriteString(".TP\n" + flagTerm(f) + "\n")
		b.WriteString(helptext.Escape(flagUsage(f)) + "\n")
	})
}

// flagTerm is "-s, --long VALUE" in roff.
func flagTerm(f *pflag.Flag) string {
	term := `\fB\-\-` + helptext.Escape(f.Name) + `\fR`
	if f.Shorthand != "" {
		term = `\fB\-` + helptext.Escape(f.Shorthand) + `\fR, ` + term
	}
	if name, _ := pflag.UnquoteUsage(f); name != "" {
		term += ` \fI` + helptext.Escape(name) + `\fR`
	}
	return term
}

func flagUsage(f *pflag.Flag) string {
	_, usage := pflag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "false", "0", "[]":
		return usage
	}
	return fmt.Sprintf("%s (default %s)", usage, f.DefValue)
}

func manSeeAlso(b *strings.Builder, c *cobra.Command) {
	var refs []string
	if c.HasParent() {
		refs = append(refs, manRef(manName(c.Parent()), "1"))
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			refs = append(refs, manRef(manName(sub), "1"))
		}
	}
	if !c.HasParent() {
		for _, p := range topicPages {
			refs = append(refs, manRef(p.name, p.section))
		}
	}
	if len(refs) > 0 {
		b.WriteString(".SH SEE ALSO\n" + strings.Join(refs, ",\n") + "\n")
	}
}

// manDocs names where the full documentation is: the man pages are the
// reference of each command, the guides (user guide, running, modules,
// Slurm, administration) are Markdown files.
func manDocs(b *strings.Builder, docdir string) {
	where := "in share/doc/pcocc under pcocc's installation prefix"
	if docdir != "" {
		where = "in " + docdir
	}
	b.WriteString(".SH DOCUMENTATION\n.PP\n")
	b.WriteString(helptext.Escape("The full documentation is installed "+where+
		": user-guide.md (a tour, every example tested), running.md (what a container sees, exit statuses), "+
		"modules.md, slurm.md, sources.md, configuration.md, admin-guide.md. 'pcocc help TOPIC' shows the topics in a terminal.") + "\n")
}

func manRef(name, section string) string {
	return `\fB` + helptext.Escape(name) + `\fR(` + section + `)`
}

func topicPage(root *cobra.Command, name, section string, topics []string, docdir string) string {
	var b strings.Builder
	first, _ := helptext.Lookup(topics[0])
	manHeader(&b, name, section, first.Summary)
	b.WriteString(first.Roff())
	for _, t := range topics[1:] {
		tp, _ := helptext.Lookup(t)
		b.WriteString(".SH " + helptext.Escape(strings.ToUpper(tp.Name)) + "\n")
		b.WriteString(".PP\n" + helptext.Escape(capitalize(tp.Summary)) + ".\n")
		b.WriteString(helptext.RoffSub(tp.Body))
	}
	manDocs(&b, docdir)
	refs := []string{manRef(root.Name(), "1")}
	for _, p := range topicPages {
		if p.name != name {
			refs = append(refs, manRef(p.name, p.section))
		}
	}
	b.WriteString(".SH SEE ALSO\n" + strings.Join(refs, ",\n") + "\n")
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
