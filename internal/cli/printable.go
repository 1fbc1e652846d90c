package cli

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s ready for a terminal: what a terminal would act on
// (control characters, ESC sequences among them; bytes that are not UTF-8)
// or that would disguise the text around it (bidirectional overrides) is
// written as a Go escape (\x1b, \n, \u202e, \xff). Every string an image
// supplies (labels, environment, names, messages quoting them) goes
// through it before it is printed: the publisher of a shared repository
// must not be able to drive the terminals of its users.
func Printable(s string) string {
	i := strings.IndexFunc(s, needsEscape)
	if i < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case needsEscape(r):
			q := fmt.Sprintf("%+q", r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}

// jsonPrintable is Printable for JSON text: encoding/json escapes C0
// controls but leaves DEL, C1 controls and bidirectional overrides, which
// can only be inside strings, where \uXXXX means the same.
func jsonPrintable(b []byte) []byte {
	if bytes.IndexFunc(b, needsJSONEscape) < 0 {
		return b
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		if needsJSONEscape(r) {
			fmt.Fprintf(&out, `\u%04x`, r)
		} else {
			out.WriteRune(r)
		}
	}
	return out.Bytes()
}

func needsJSONEscape(r rune) bool { return r >= 0x7f && needsEscape(r) }

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
