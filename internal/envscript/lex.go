package envscript

import (
	"errors"
	"fmt"
	"strings"
)

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

// The lexer's errors say which feature of a word the evaluator refuses:
// the command holding it is skipped with a warning.
var (
	errBackticks    = errors.New("command substitution (`...`) is never run")
	errTilde        = errors.New("tilde expansion needs the user's home directory, known only at run time")
	errSingle       = errors.New("unterminated single quote")
	errDouble       = errors.New("unterminated double quote")
	errSubst        = errors.New("command substitution and arithmetic ($(...)) are never run")
	errBraceForm    = errors.New("this ${...} form is not supported")
	errUnterminated = errors.New("unterminated ${...}")
)

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
	parts, err := l.parts(func(r rune) bool { return strings.ContainsRune(" \t\r\n;&|<>()", r) }, false, false)
	if err != nil {
		l.skipWord()
		return word{}, err.Error()
	}
	w.parts = parts
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
func (l *lexer) parts(end func(rune) bool, inBraces, inDouble bool) ([]wordPart, error) {
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
			q, err := l.single()
			if err != nil {
				return nil, err
			}
			lit.WriteString(q)
		case '"':
			flush()
			q, err := l.double()
			if err != nil {
				return nil, err
			}
			ps = append(ps, q...)
		case '$':
			flush()
			p, err := l.dollar(false)
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		case '`':
			return nil, errBackticks
		case '~':
			if l.pos == 0 || !inBraces && len(ps) == 0 && lit.Len() == 0 || l.src[l.pos-1] == '=' {
				return nil, errTilde
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
	return ps, nil
}

func (l *lexer) single() (string, error) {
	l.pos++ // '
	start := l.pos
	for l.pos < len(l.src) && l.src[l.pos] != '\'' {
		if l.src[l.pos] == '\n' {
			l.line++
		}
		l.pos++
	}
	if l.pos >= len(l.src) {
		return "", errSingle
	}
	s := string(l.src[start:l.pos])
	l.pos++
	return s, nil
}

// double reads a double-quoted string: only \$ \` \" \\ and \newline are
// escapes there.
func (l *lexer) double() ([]wordPart, error) {
	l.pos++                     // "
	ps := []wordPart{{lit: ""}} // "" is an empty word, not no word
	var lit strings.Builder
	for {
		if l.pos >= len(l.src) {
			return nil, errDouble
		}
		r := l.src[l.pos]
		switch {
		case r == '"':
			l.pos++
			return append(ps, wordPart{lit: lit.String()}), nil
		case r == '\\' && strings.ContainsRune("$`\"\\\n", l.peek(1)):
			if l.peek(1) == '\n' {
				l.line++
			} else {
				lit.WriteRune(l.peek(1))
			}
			l.pos += 2
		case r == '$':
			p, err := l.dollar(true)
			if err != nil {
				return nil, err
			}
			ps = append(ps, wordPart{lit: lit.String()}, p)
			lit.Reset()
		case r == '`':
			return nil, errBackticks
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
func (l *lexer) dollar(inDouble bool) (wordPart, error) {
	l.pos++ // $
	r := l.peek(0)
	switch {
	case r == '(':
		return wordPart{}, errSubst
	case r == '{':
		p, err := l.braced(inDouble)
		return wordPart{param: p}, err
	case isNameStart(r):
		start := l.pos
		for isNameChar(l.peek(0)) {
			l.pos++
		}
		return wordPart{param: &paramExp{name: string(l.src[start:l.pos])}}, nil
	case r != 0 && strings.ContainsRune("@*#?$!-0123456789", r):
		return wordPart{}, fmt.Errorf("special parameter $%c is only known at run time", r)
	}
	return wordPart{lit: "$"}, nil
}

// braced reads ${NAME} and ${NAME OP WORD}.
func (l *lexer) braced(inDouble bool) (*paramExp, error) {
	l.pos++ // {
	start := l.pos
	for isNameChar(l.peek(0)) {
		l.pos++
	}
	name := string(l.src[start:l.pos])
	if name == "" || !isNameStart(l.src[start]) {
		return nil, errBraceForm
	}
	p := &paramExp{name: name}
	if l.peek(0) == '}' {
		l.pos++
		return p, nil
	}
	for _, op := range []string{":-", ":=", ":+", "-", "=", "+"} {
		if strings.HasPrefix(string(l.src[l.pos:min(l.pos+2, len(l.src))]), op) {
			p.op = op
			l.pos += len(op)
			break
		}
	}
	if p.op == "" {
		return nil, fmt.Errorf("${%s%c...} is not supported", name, l.peek(0))
	}
	w, err := l.parts(func(r rune) bool { return r == '}' }, true, inDouble)
	if err != nil {
		return nil, err
	}
	if l.peek(0) != '}' {
		return nil, errUnterminated
	}
	p.word = w
	l.pos++
	return p, nil
}
