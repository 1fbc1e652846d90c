//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

func newImageShowCmd(g *Globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:               "show [REPO:]NAME[@REV]",
		Short:             "Show an image's configuration and origin",
		Args:              exactArgs(1, "one image name"),
		ValidArgsFunction: completeImages(g, 1),
		RunE: func(c *cobra.Command, args []string) error {
			img, err := g.findImage(args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return writeJSON(g.Stdout, img.Meta)
			case "text":
				return showImage(g.Stdout, img)
			}
			return usageError("--format: %q is not text or json", format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return c
}

func showImage(w io.Writer, img *repo.Image) error {
	if img.Meta.Type == imagemeta.TypeVM {
		return showVMImage(w, img)
	}
	m := img.Meta
	kv := func(k string, v any) { fmt.Fprintf(w, "%-12s %s\n", k+":", Printable(fmt.Sprint(v))) }
	kv("Name", img.QualifiedName())
	kv("Repository", fmt.Sprintf("%s (%s)", img.Repo.Name, img.Repo.Path))
	kv("Type", m.Type)
	kv("Source", m.Origin.Source)
	kv("Digest", m.Origin.Digest)
	kv("Imported", m.Origin.Date.Local().Format("2006-01-02T15:04:05")+" by "+m.Origin.Owner)
	u := imageUsage(img)
	if _, err := img.SquashfsPath(); err != nil {
		kv("Squashfs", forbidden+" "+err.Error())
	} else {
		kv("Squashfs", fmt.Sprintf("%s, %s", humanSize(u.Squashfs), m.Squashfs.Compression))
	}
	kv("Layers", layersLine(img, u))
	kv("Disk use", humanSize(u.Total()))
	c := m.Config
	kv("Entrypoint", quoteList(c.Entrypoint))
	kv("Cmd", quoteList(c.Cmd))
	kv("WorkingDir", c.WorkingDir)
	kv("User", c.User)
	fmt.Fprintln(w, "Env:")
	for _, e := range c.Env {
		fmt.Fprintf(w, "  %s\n", Printable(e))
	}
	if len(c.Labels) > 0 {
		fmt.Fprintln(w, "Labels:")
		for _, k := range sortedKeys(c.Labels) {
			fmt.Fprintf(w, "  %s=%s\n", Printable(k), Printable(c.Labels[k]))
		}
	}
	return nil
}

// imageUsage measures the image among the images of its repository, so
// that the blobs it shares with them are seen.
func imageUsage(img *repo.Image) repo.Usage {
	all, err := img.Repo.List()
	if err != nil {
		all = nil
	}
	return repo.UsageOf(img, all)
}

func layersLine(img *repo.Image, u repo.Usage) string {
	n := plural(len(img.Meta.Layers), "layer")
	switch {
	case img.Meta.NoLayers:
		return n + ", not kept (imported with --no-layers or into a repository with keep_layers: false): no rebuild nor export"
	case len(img.Meta.Layers) == 0 && img.Meta.ConfigDigest == "":
		return n
	}
	return fmt.Sprintf("%s, %s kept for rebuild and export, %s of it shared with other images", n, humanSize(u.Blobs), humanSize(u.Shared))
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
