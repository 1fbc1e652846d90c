package helptext

import (
	"strings"
)

// Text renders the topic for a terminal: headings in capitals, code and
// definitions indented, inline markup removed.
func (t Topic) Text() string {
	var b strings.Builder
	b.WriteString(t.Name + " - " + t.Summary + "\n\n")
	code := false
	for _, line := range strings.Split(strings.TrimRight(t.Body, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			code = !code
			continue
		case code:
			line = "    " + line
		case strings.HasPrefix(line, "## "):
			line = strings.ToUpper(line[3:])
		case strings.HasPrefix(line, "### "):
			line = "  " + line[4:]
		case strings.HasPrefix(line, ": "):
			line = "    " + plain(line[2:])
		case strings.HasPrefix(line, "  ") && !isListItem(strings.TrimSpace(line)):
			line = "    " + plain(strings.TrimSpace(line))
		default:
			line = plain(line)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return b.String()
}

// plain removes inline markup.
func plain(s string) string {
	return strings.NewReplacer("`", "", "**", "").Replace(s)
}

func isListItem(s string) bool {
	_, ok := listItem(s)
	return ok
}

// listItem returns the text of a "* " or "N. " list item.
func listItem(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "* "); ok {
		return rest, true
	}
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i > 0 && strings.HasPrefix(s[i:], ". ") {
		return s[i+2:], true
	}
	return "", false
}
