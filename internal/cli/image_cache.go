//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/unpack"
)

// `pcocc image cache`: the node-local cache of unpacked images (docs/running.md,
// "How the image is mounted"), as pcocc 0.7.5 had `image cache`.
func newImageCacheCmd(g *Globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "List and clean this node's cache of unpacked images",
		Long: `pcocc run unpacks small images once per node into a cache (` + "$" + `PCOCC_UNPACK_DIR,
default /var/tmp/pcocc-UID/unpacked) to start them faster. This cache is
node-local disk that 'image list' does not show: 'image cache list' shows it,
'image cache clean' frees it. Entries that a running container uses are kept.

They also show and clean the images that 'pcocc run TRANSPORT:SOURCE' imported
into your cache of image sources ($XDG_CACHE_HOME/pcocc/sources, default
~/.cache/pcocc/sources): a second section of 'image cache list'.`,
	}
	var stale bool
	clean := &cobra.Command{
		Use:   "clean [--stale]",
		Short: "Remove the unpacked images no container uses",
		Long: `Remove every entry of this node's cache of unpacked images that no running
container uses (with --stale, only those of images deleted or re-imported
since). It is safe while containers run: their entries are kept. The next
run of an image unpacks it again. It also removes the images of your cache of
image sources (with --stale, those whose source file is gone): a container
running one keeps it until it ends; the next run imports the source again.`,
		Example: `  pcocc image cache clean
  pcocc image cache clean --stale`,
		Args: exactArgs(0, "no argument"),
		RunE: func(c *cobra.Command, args []string) error { return runCacheClean(g, stale) },
	}
	clean.Flags().BoolVar(&stale, "stale", false, "only the entries of images deleted or re-imported since")
	list := &cobra.Command{
		Use:   "list",
		Short: "List this node's unpacked images and their disk use",
		Long: `List the entries of this node's cache of unpacked images: the image (or its
squashfs file when no repository has it any more), the disk it takes, and
whether a running container uses it.`,
		Example: `  pcocc image cache list`,
		Args:    exactArgs(0, "no argument"),
		RunE:    func(c *cobra.Command, args []string) error { return runCacheList(g) },
	}
	c.AddCommand(list, clean)
	return c
}

func runCacheList(g *Globals) error {
	dir, list, err := unpack.List()
	if err != nil {
		return err
	}
	names := squashfsNames(g)
	const format = "%-40s %10s  %s\n"
	row := func(a ...any) { fmt.Fprint(g.Stdout, strings.TrimRight(fmt.Sprintf(format, a...), " \n")+"\n") }
	row("Image", "Size", "State")
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	var total int64
	for _, e := range list {
		total += e.Bytes
		row(cachedName(e, names), humanSize(e.Bytes), cacheState(e))
	}
	fmt.Fprintln(g.Stdout, strings.Repeat("=", 78))
	fmt.Fprintf(g.Stdout, "%s, %s in %s\n", entries(len(list)), humanSize(total), dir)
	return listSourceCache(g)
}

func cacheState(e unpack.Cached) string {
	var s []string
	if e.InUse {
		s = append(s, "in use")
	}
	if e.Stale {
		s = append(s, "stale (image deleted or re-imported)")
	}
	return strings.Join(s, ", ")
}

func cachedName(e unpack.Cached, names map[string]string) string {
	if n, ok := names[e.Source]; ok && !e.Stale {
		return n
	}
	return e.Source
}

// squashfsNames maps the squashfs file of every image to its REPO:NAME. It
// opens only repositories that exist (listing must not create one).
func squashfsNames(g *Globals) map[string]string {
	out := map[string]string{}
	if r, _, err := openSourceCache(false); err == nil && r != nil {
		imgs, _ := r.List()
		for _, img := range imgs {
			if p, err := img.SquashfsPath(); err == nil {
				out[p] = img.Meta.Origin.Source
			}
		}
	}
	set, err := quietly(&Globals{cfg: g.config()}).repos()
	if err != nil {
		return out
	}
	for _, r := range set.Existing() {
		imgs, _ := r.List()
		for _, img := range imgs {
			if p, err := img.SquashfsPath(); err == nil {
				out[p] = r.Name + ":" + img.Name
			}
		}
	}
	return out
}

func runCacheClean(g *Globals, stale bool) error {
	removed, kept, err := unpack.Clean(stale)
	if err != nil {
		return err
	}
	var freed int64
	for _, e := range removed {
		freed += e.Bytes
	}
	if !g.Quiet {
		msg := fmt.Sprintf("Removed %s (%s)", entries(len(removed)), humanSize(freed))
		if len(kept) > 0 {
			msg += fmt.Sprintf("; kept %s in use by running containers", entries(len(kept)))
		}
		fmt.Fprintln(g.Stdout, msg)
	}
	n, freedSrc, err := cleanSourceCache(stale)
	if err != nil {
		return err
	}
	if !g.Quiet && n > 0 {
		fmt.Fprintf(g.Stdout, "Removed %s run without import (%s)\n", plural(n, "source"), humanSize(freedSrc))
	}
	return nil
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
