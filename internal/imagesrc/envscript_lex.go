package imagesrc

import (
	"fmt"
	"strings"
)

// The environment scripts of a SIF (/.singularity.d/env/*.sh) are shell.
// They are never run on the host: this lexer and the evaluator in
// envscript_eval.go understand the subset Apptainer writes (assignments,
// export, unset, quoting, $VAR and ${VAR...} expansions) and report the rest
// so that it can be skipped with a warning.

// wordPart is a piece of a shell word: literal text or a parameter
// expansion.
type wordPart struct {
	lit   string
	param *paramExp
}

// paramExp is $NAME or ${NAME[:](-|=|+)WORD}.
type paramExp struct {
	name string
	op   string // "", "-", ":-", "=", ":=", "+", ":+"
	word []wordPart
}

// word is one shell word; bare is its text when it has no quoting nor
// expansion (keywords and assignment names are recognised on it).
type word struct {
	parts []wordPart
	bare  string
	plain bool // no quote, no expansion
}

// command is one simple command: its words, the line it starts on, and why
// it cannot be evaluated when it cannot.
type command struct {
	words []word
	line  int
	bad   string
}

// lexer splits a script into commands.
type lexer struct {
	src  []rune
	pos  int
	line int
}

// unsupported is raised (as a panic caught by next) when a word uses a
// feature the evaluator refuses.
type unsupported struct{ why string }

func lexScript(src string) []command {
	l := &lexer{src: []rune(src), line: 1}
	var cmds []command
	for {
		c, more := l.next()
		if len(c.words) > 0 || c.bad != "" {
			cmds = append(cmds, c)
		}
		if !more {
			return cmds
		}
	}
}

func (l *lexer) peek(off int) rune {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// next reads one command; more is false at the end of the script.
func (l *lexer) next() (c command, more bool) {
	c.line = l.line
	for {
		r := l.peek(0)
		switch {
		case l.pos >= len(l.src):
			return c, false
		case r == ' ' || r == '\t' || r == '\r':
			l.pos++
		case r == '\\' && l.peek(1) == '\n':
			l.pos += 2
			l.line++
		case r == '#': // at the start of a word
			l.skipComment()
		case r == '\n':
			l.pos++
			l.line++
			return c, true
		case r == ';':
			l.pos++
			return c, true
		case strings.ContainsRune("&|<>()", r):
			if c.bad == "" {
				c.bad = fmt.Sprintf("%q (pipelines, redirections, subshells and functions are not evaluated)", string(r))
			}
			l.pos++
		default:
			w, why := l.word()
			if why != "" && c.bad == "" {
				c.bad = why
			}
			c.words = append(c.words, w)
		}
	}
}

func (l *lexer) skipComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
	}
}

// word reads one word; why says what in it is not supported.
func (l *lexer) word() (w word, why string) {
	start := l.pos
	defer func() {
		if r := recover(); r != nil {
			u, ok := r.(unsupported)
			if !ok {
				panic(r)
			}
			why = u.why
			l.skipWord()
		}
	}()
	w.parts = l.parts(func(r rune) bool { return strings.ContainsRune(" \t\r\n;&|<>()", r) }, false, false)
	w.plain = !strings.ContainsAny(string(l.src[start:l.pos]), `'"\$`)
	if w.plain {
		w.bare = string(l.src[start:l.pos])
	}
	return w, ""
}

// skipWord moves past the rest of a word that could not be read (to the
// next blank or end of command).
func (l *lexer) skipWord() {
	for l.pos < len(l.src) && !strings.ContainsRune(" \t\r\n;", l.src[l.pos]) {
		if l.src[l.pos] == '\n' {
			l.line++
		}
		l.pos++
	}
}

// parts reads word parts until end says stop (outside quotes).
// Inside a double-quoted ${...}, single quotes are plain characters.
func (l *lexer) parts(end func(rune) bool, inBraces, inDouble bool) []wordPart {
	var ps []wordPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			ps = append(ps, wordPart{lit: lit.String()})
			lit.Reset()
		}
	}
	for l.pos < len(l.src) && !end(l.src[l.pos]) {
		r := l.src[l.pos]
		switch r {
		case '\\':
			l.pos++
			if c := l.peek(0); c == '\n' {
				l.line++
			} else if c != 0 {
				lit.WriteRune(c)
			}
			l.pos++
		case '\'':
			if inDouble {
				lit.WriteRune(r)
				l.pos++
				continue
			}
			lit.WriteString(l.single())
		case '"':
			flush()
			ps = append(ps, l.double()...)
		case '$':
			flush()
			ps = append(ps, l.dollar(false))
		case '`':
			panic(unsupported{"command substitution (`...`) is never run"})
		case '~':
			if l.pos == 0 || !inBraces && len(ps) == 0 && lit.Len() == 0 || l.src[l.pos-1] == '=' {
				panic(unsupported{"tilde expansion needs the user's home directory, known only at run time"})
			}
			lit.WriteRune(r)
			l.pos++
		default:
			if r == '\n' {
				l.line++
			}
			lit.WriteRune(r)
			l.pos++
		}
	}
	flush()
	return ps
}

func (l *lexer) single() string {
	l.pos++ // '
	start := l.pos
	for l.pos < len(l.src) && l.src[l.pos] != '\'' {
		if l.src[l.pos] == '\n' {
			l.line++
		}
		l.pos++
	}
	if l.pos >= len(l.src) {
		panic(unsupported{"unterminated single quote"})
	}
	s := string(l.src[start:l.pos])
	l.pos++
	return s
}

// double reads a double-quoted string: only \$ \` \" \\ and \newline are
// escapes there.
func (l *lexer) double() []wordPart {
	l.pos++                     // "
	ps := []wordPart{{lit: ""}} // "" is an empty word, not no word
	var lit strings.Builder
	for {
		if l.pos >= len(l.src) {
			panic(unsupported{"unterminated double quote"})
		}
		r := l.src[l.pos]
		switch {
		case r == '"':
			l.pos++
			return append(ps, wordPart{lit: lit.String()})
		case r == '\\' && strings.ContainsRune("$`\"\\\n", l.peek(1)):
			if l.peek(1) == '\n' {
				l.line++
			} else {
				lit.WriteRune(l.peek(1))
			}
			l.pos += 2
		case r == '$':
			ps = append(ps, wordPart{lit: lit.String()}, l.dollar(true))
			lit.Reset()
		case r == '`':
			panic(unsupported{"command substitution (`...`) is never run"})
		default:
			if r == '\n' {
				l.line++
			}
			lit.WriteRune(r)
			l.pos++
		}
	}
}

func isNameStart(r rune) bool { return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func isNameChar(r rune) bool { return isNameStart(r) || r >= '0' && r <= '9' }

// dollar reads what follows a '$'.
func (l *lexer) dollar(inDouble bool) wordPart {
	l.pos++ // $
	r := l.peek(0)
	switch {
	case r == '(':
		panic(unsupported{"command substitution and arithmetic ($(...)) are never run"})
	case r == '{':
		return wordPart{param: l.braced(inDouble)}
	case isNameStart(r):
		start := l.pos
		for isNameChar(l.peek(0)) {
			l.pos++
		}
		return wordPart{param: &paramExp{name: string(l.src[start:l.pos])}}
	case r != 0 && strings.ContainsRune("@*#?$!-0123456789", r):
		panic(unsupported{fmt.Sprintf("special parameter $%c is only known at run time", r)})
	}
	return wordPart{lit: "$"}
}

// braced reads ${NAME} and ${NAME OP WORD}.
func (l *lexer) braced(inDouble bool) *paramExp {
	l.pos++ // {
	start := l.pos
	for isNameChar(l.peek(0)) {
		l.pos++
	}
	name := string(l.src[start:l.pos])
	if name == "" || !isNameStart(l.src[start]) {
		panic(unsupported{"this ${...} form is not supported"})
	}
	p := &paramExp{name: name}
	if l.peek(0) == '}' {
		l.pos++
		return p
	}
	for _, op := range []string{":-", ":=", ":+", "-", "=", "+"} {
		if strings.HasPrefix(string(l.src[l.pos:min(l.pos+2, len(l.src))]), op) {
			p.op = op
			l.pos += len(op)
			break
		}
	}
	if p.op == "" {
		panic(unsupported{fmt.Sprintf("${%s%c...} is not supported", name, l.peek(0))})
	}
	p.word = l.parts(func(r rune) bool { return r == '}' }, true, inDouble)
	if l.peek(0) != '}' {
		panic(unsupported{"unterminated ${...}"})
	}
	l.pos++
	return p
}
