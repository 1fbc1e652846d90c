package helptext

import (
	"fmt"
	"strings"
)

// Roff renders the topic body as man(7) requests, without the .TH and NAME
// section (the man page generator writes those).
func (t Topic) Roff() string { return Roff(t.Body) }

// Roff converts the markdown subset described in the package comment.
func Roff(md string) string { return roff(md, false) }

// RoffSub is Roff for a topic included in another's page: its "## "
// headings become subsections.
func RoffSub(md string) string { return roff(md, true) }

func roff(md string, sub bool) string {
	r := &roffWriter{sub: sub}
	for _, line := range strings.Split(strings.TrimRight(md, "\n"), "\n") {
		r.line(line)
	}
	if r.code {
		r.endCode()
	}
	return r.b.String()
}

type roffWriter struct {
	b    strings.Builder
	sub  bool // "## " is a subsection
	code bool // inside a fenced block
	para bool // inside a paragraph or list item: text continues it
}

func (r *roffWriter) emit(s string) { r.b.WriteString(s + "\n") }

func (r *roffWriter) line(line string) {
	trimmed := strings.TrimSpace(line)
	item, isItem := listItem(trimmed)
	switch {
	case strings.HasPrefix(line, "```"):
		r.fence()
	case r.code:
		r.emit(escapeLine(line))
	case trimmed == "":
		r.para = false
	case strings.HasPrefix(line, "## ") && r.sub:
		r.emit(".SS " + Escape(line[3:]))
		r.para = false
	case strings.HasPrefix(line, "## "):
		r.emit(".SH " + Escape(strings.ToUpper(line[3:])))
		r.para = false
	case strings.HasPrefix(line, "### "):
		r.emit(".SS " + Escape(line[4:]))
		r.para = false
	case isItem && !strings.HasPrefix(line, "  "):
		r.item(trimmed, item)
	case strings.HasPrefix(line, "`") && strings.HasSuffix(trimmed, "`") && !r.para:
		r.emit(".TP")
		r.emit(Inline(trimmed))
	case strings.HasPrefix(line, ": "):
		r.emit(Inline(line[2:]))
		r.para = true
	default:
		if !r.para {
			r.emit(".PP")
			r.para = true
		}
		r.emit(Inline(trimmed))
	}
}

func (r *roffWriter) fence() {
	if r.code {
		r.endCode()
		return
	}
	r.emit(".PP")
	r.emit(".RS 4")
	r.emit(".nf")
	r.code, r.para = true, false
}

func (r *roffWriter) endCode() {
	r.emit(".fi")
	r.emit(".RE")
	r.code = false
}

func (r *roffWriter) item(line, text string) {
	mark := `\(bu`
	if !strings.HasPrefix(line, "* ") {
		mark = strings.TrimSuffix(line, text)
		mark = strings.TrimSpace(mark)
	}
	r.emit(fmt.Sprintf(".IP %s 4", mark))
	r.emit(Inline(text))
	r.para = true
}

// Inline escapes s and turns `code` and **bold** into bold.
func Inline(s string) string {
	s = Escape(s)
	s = toggle(s, "**")
	return toggle(s, "`")
}

// toggle replaces pairs of delim with \fB and \fR.
func toggle(s, delim string) string {
	parts := strings.Split(s, delim)
	if len(parts)%2 == 0 {
		return s // unbalanced: leave it as written
	}
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 1 {
			p = `\fB` + p + `\fR`
		}
		b.WriteString(p)
	}
	return b.String()
}

// Escape makes s safe as roff text on one line: backslashes, minus signs
// (so options copy and paste as ASCII), non-ASCII characters (groff reads
// its input as Latin-1 unless told otherwise) and a leading control
// character.
func Escape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\\':
			b.WriteString(`\e`)
		case c == '-':
			b.WriteString(`\-`)
		case c > 126:
			fmt.Fprintf(&b, `\[u%04X]`, c)
		default:
			b.WriteRune(c)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, ".") || strings.HasPrefix(out, "'") {
		out = `\&` + out
	}
	return out
}

// escapeLine escapes a line of a code block, keeping its indentation.
func escapeLine(s string) string {
	if strings.TrimSpace(s) == "" {
		return `\&`
	}
	return Escape(s)
}
