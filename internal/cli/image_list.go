//go:build !pcocc_launcher

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

const forbidden = "⛔"

type imageListOptions struct {
	repo   string
	format string
}

func newImageListCmd(g *Globals) *cobra.Command {
	var o imageListOptions
	c := &cobra.Command{
		Use:   "list [-r REPO] [REGEX]",
		Short: "List images",
		Long: `List the images of every repository, or of one with --repo, whose name
matches REGEX. The table has 2 header lines and 2 footer lines; the first
column is the name to give other commands. Size is what the image takes on
disk: its squashfs and the layers kept for 'image rebuild' and 'image export',
counting layers it shares with other images in full ('pcocc image show NAME'
says how much is shared; 'pcocc image repo list' counts them once). An image
marked ` + forbidden + ` has no squashfs: run 'pcocc image rebuild NAME' before running it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runImageList(g, o, args)
		},
	}
	c.Flags().StringVarP(&o.repo, "repo", "r", "", "list only this repository")
	c.RegisterFlagCompletionFunc("repo", completeRepos(g))
	c.Flags().StringVar(&o.format, "format", "table", "output format: table or json")
	return c
}

type listedImage struct {
	Repo     string     `json:"repo"`
	Name     string     `json:"name"`
	Ref      string     `json:"ref"`
	Revision string     `json:"revision,omitempty"`
	Type     string     `json:"type"`
	Size     int64      `json:"size"` // Disk.Total()
	Disk     repo.Usage `json:"disk"`
	Modified time.Time  `json:"modified"`
	Squashfs bool       `json:"squashfs"`
	Error    string     `json:"error,omitempty"`
}

func runImageList(g *Globals, o imageListOptions, args []string) error {
	if o.format != "table" && o.format != "json" {
		return usageError("--format: %q is not table or json", o.format)
	}
	var re *regexp.Regexp
	if len(args) == 1 {
		var err error
		if re, err = regexp.Compile(args[0]); err != nil {
			return usageError("REGEX %q: %v", args[0], err)
		}
	}
	rows, err := collectImages(g, o.repo, re)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return writeJSON(g.Stdout, rows)
	}
	printImageTable(g.Stdout, rows)
	return nil
}

func collectImages(g *Globals, only string, re *regexp.Regexp) ([]listedImage, error) {
	set, err := g.repos()
	if err != nil {
		return nil, err
	}
	names := set.Names()
	if only != "" {
		names = []string{only}
	}
	rows := []listedImage{}
	for _, n := range names {
		r, err := set.Get(n)
		if err != nil {
			if only != "" {
				return nil, err
			}
			set.Skip(n, err)
			continue
		}
		imgs, err := r.List()
		if err != nil {
			g.Log.Warn(err.Error())
			continue
		}
		usage, _ := repo.DiskUsage(imgs) // of all of them: sharing counts the unlisted
		for i, img := range imgs {
			if re == nil || re.MatchString(img.Name) {
				rows = append(rows, toListed(img, usage[i]))
			}
		}
	}
	return rows, nil
}

func toListed(img *repo.Image, u repo.Usage) listedImage {
	l := listedImage{Repo: img.Repo.Name, Name: img.Name, Ref: img.QualifiedName(), Revision: img.Revision,
		Type: img.Meta.Type, Modified: img.Meta.Origin.Date, Squashfs: img.HasSquashfs(), Size: u.Total(), Disk: u}
	if img.Revision != "" { // a VM image, or a repository of the original pcocc: NAME@REV is the newest revision
		l.Ref += "@" + img.Revision
	}
	if latest := img.Meta.VM.Latest(); latest != nil {
		l.Modified = latest.Date
	}
	if l.Type == "" {
		l.Type = "container"
	}
	if img.Err != nil {
		l.Error = img.Err.Error()
	}
	return l
}

func printImageTable(w io.Writer, rows []listedImage) {
	const format = "%-30s %-11s %10s  %-19s %s\n"
	line := strings.Repeat("=", 78)
	row := func(a ...string) {
		v := make([]any, len(a))
		for i, s := range a {
			v[i] = Printable(s) // names and types come from the repository
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf(format, v...), " \n"))
	}
	row("Name", "Type", "Size", "Modified", "")
	fmt.Fprintln(w, line)
	missing := 0
	for _, r := range rows {
		mark := ""
		if !r.Squashfs && r.Type != imagemeta.TypeVM { // VM images are qcow2 chains, started by alloc
			mark, missing = forbidden, missing+1
		}
		row(r.Ref, r.Type, humanSize(r.Size), r.Modified.Local().Format("2006-01-02T15:04:05"), mark)
	}
	fmt.Fprintln(w, line)
	summary := plural(len(rows), "image")
	if missing > 0 {
		summary += fmt.Sprintf("; %s %d without squashfs: run 'pcocc image rebuild NAME'", forbidden, missing)
	}
	fmt.Fprintln(w, summary)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// humanSize prints a size in binary units (KiB, MiB, GiB), as the import
// progress, the cache limits and the docs do: one unit everywhere.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", jsonPrintable(b))
	return err
}
