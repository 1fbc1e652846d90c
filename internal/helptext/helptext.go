// Package helptext holds the help topics (`pcocc help TOPIC`) in one place:
// the embedded *.md files of this directory, a small markdown subset that
// is rendered as plain text for the terminal and as roff for the man pages.
// docs/help/ points at these files instead of copying them.
//
// The subset: a first line "# NAME - SUMMARY"; "## " and "### " headings;
// paragraphs; "* " and "1. " list items; fenced code blocks; definition
// items written as a line "`term`" followed by ": description" (continued
// by lines indented two spaces); `code` and **bold** inline.
package helptext

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed *.md
var files embed.FS

// Topic is one help topic.
type Topic struct {
	Name    string // file name without .md: containers, modules, ...
	Summary string // the title line's text after "NAME - "
	Body    string // the markdown after the title line
}

// Topics returns every topic, sorted by name.
func Topics() []Topic {
	entries, err := files.ReadDir(".")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []Topic
	for _, e := range entries {
		name, isMD := strings.CutSuffix(e.Name(), ".md")
		if !isMD {
			continue
		}
		t, err := load(name)
		if err != nil {
			panic(err) // a malformed embedded file is a bug; tests catch it
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the topic names, sorted.
func Names() []string {
	var names []string
	for _, t := range Topics() {
		names = append(names, t.Name)
	}
	return names
}

// Lookup returns the topic called name.
func Lookup(name string) (Topic, bool) {
	for _, t := range Topics() {
		if t.Name == name {
			return t, true
		}
	}
	return Topic{}, false
}

func load(name string) (Topic, error) {
	b, err := files.ReadFile(name + ".md")
	if err != nil {
		return Topic{}, err
	}
	title, body, _ := strings.Cut(string(b), "\n")
	want := "# " + name + " - "
	summary, found := strings.CutPrefix(title, want)
	if !found || summary == "" {
		return Topic{}, fmt.Errorf("help topic %s.md: first line must be %q followed by a summary", name, want)
	}
	return Topic{Name: name, Summary: summary, Body: strings.TrimLeft(body, "\n")}, nil
}
