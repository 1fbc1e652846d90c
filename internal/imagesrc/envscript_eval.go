package imagesrc

import (
	"fmt"
	"slices"
	"strings"
)

// defaultPath is the PATH Apptainer gives a container whose scripts do not
// set one (its action scripts "fix" an unset PATH to this).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envState is the shell environment the scripts build, evaluated in order
// from an empty environment (plus PATH) as Apptainer sources them before
// running a command.
type envState struct {
	vars     map[string]string
	exported map[string]bool
	order    []string // first assignment order, for a stable Env
	changed  map[string]bool
	warnings []string
	file     string
}

func newEnvState() *envState {
	return &envState{
		vars:     map[string]string{"PATH": defaultPath},
		exported: map[string]bool{"PATH": true},
		order:    []string{"PATH"},
		changed:  map[string]bool{},
	}
}

// Env returns the exported variables the scripts set, as KEY=VALUE; PATH
// only when a script changed it.
func (s *envState) Env() []string {
	var env []string
	for _, k := range s.order {
		v, set := s.vars[k]
		if set && s.exported[k] && s.changed[k] {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (s *envState) warn(line int, format string, a ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf("%s:%d: %s", s.file, line, fmt.Sprintf(format, a...)))
}

func (s *envState) set(name, value string) {
	if _, ok := s.vars[name]; !ok && !slices.Contains(s.order, name) {
		s.order = append(s.order, name)
	}
	s.vars[name] = value
	s.changed[name] = true
}

// blockOpeners and their closers: a compound command is skipped whole.
var blockClosers = map[string]string{"if": "fi", "for": "done", "while": "done", "until": "done", "case": "esac", "{": "}"}

// evalScript evaluates one script; what it cannot evaluate is skipped and
// reported in s.warnings.
func (s *envState) evalScript(file, src string) {
	s.file = file
	cmds := lexScript(src)
	for i := 0; i < len(cmds); i++ {
		c := cmds[i]
		if kw := blockOpener(c); kw != "" {
			end := skipBlock(cmds, i)
			s.warn(c.line, "skipping the %q block (lines %d-%d): control flow is not evaluated", kw, c.line, cmds[end].line)
			i = end
			continue
		}
		s.evalCommand(c)
	}
}

// keyword is the reserved word a command starts with, if any (then, do,
// else and elif can prefix another command on the same line).
func keyword(c command) string {
	for _, w := range c.words {
		switch w.bare {
		case "then", "do", "else", "elif", "!":
			continue
		}
		if !w.plain {
			return ""
		}
		return w.bare
	}
	return ""
}

// blockOpener returns the keyword opening a compound command at c, or "": a
// function definition "f() {" opens a "{" block.
func blockOpener(c command) string {
	if kw := keyword(c); blockClosers[kw] != "" {
		return kw
	}
	for _, w := range c.words {
		if c.bad != "" && w.plain && w.bare == "{" {
			return "{"
		}
	}
	return ""
}

// skipBlock returns the index of the command closing the block opened at i.
func skipBlock(cmds []command, i int) int {
	var stack []string
	for j := i; j < len(cmds); j++ {
		kw := keyword(cmds[j])
		if op := blockOpener(cmds[j]); op != "" {
			stack = append(stack, blockClosers[op])
		} else if len(stack) > 0 && kw == stack[len(stack)-1] {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return j
		}
	}
	return len(cmds) - 1
}

func (s *envState) evalCommand(c command) {
	if c.bad != "" {
		s.warn(c.line, "skipping a command: %s", c.bad)
		return
	}
	var assigns []word
	i := 0
	for ; i < len(c.words) && isAssignment(c.words[i]); i++ {
		assigns = append(assigns, c.words[i])
	}
	if i == len(c.words) {
		for _, a := range assigns {
			s.assign(c.line, a, false)
		}
		return
	}
	name := c.words[i].bare
	switch {
	case len(assigns) > 0:
		s.warn(c.line, "skipping %q: a command run with assignments is not evaluated", name)
	case name == "export":
		s.export(c.line, c.words[i+1:])
	case name == "unset":
		s.unset(c.line, c.words[i+1:])
	case name == ":" || name == "true":
	default:
		s.warn(c.line, "skipping %q: only assignments, export and unset are evaluated", commandName(c.words[i]))
	}
}

func commandName(w word) string {
	if w.plain {
		return w.bare
	}
	return "a command"
}

// isAssignment tells NAME=... words; the name part must be plain.
func isAssignment(w word) bool {
	if len(w.parts) == 0 || w.parts[0].param != nil {
		return false
	}
	name, _, ok := strings.Cut(w.parts[0].lit, "=")
	return ok && validName(name) && (w.plain || !strings.ContainsAny(name, `"'\`))
}

func validName(n string) bool {
	if n == "" || !isNameStart(rune(n[0])) {
		return false
	}
	for _, r := range n {
		if !isNameChar(r) {
			return false
		}
	}
	return true
}

// assign evaluates NAME=WORD.
func (s *envState) assign(line int, w word, export bool) {
	name, rest, _ := strings.Cut(w.parts[0].lit, "=")
	parts := append([]wordPart{{lit: rest}}, w.parts[1:]...)
	s.set(name, s.expand(line, parts))
	if export {
		s.exported[name] = true
	}
}

func (s *envState) export(line int, args []word) {
	for _, a := range args {
		switch {
		case isAssignment(a):
			s.assign(line, a, true)
		case a.plain && validName(a.bare):
			s.exported[a.bare] = true
		default:
			s.warn(line, "skipping export of %q: not a variable name", s.expand(line, a.parts))
		}
	}
}

func (s *envState) unset(line int, args []word) {
	for _, a := range args {
		if a.bare == "-v" {
			continue
		}
		if !a.plain || !validName(a.bare) {
			s.warn(line, "skipping unset of %q: not a variable name", s.expand(line, a.parts))
			continue
		}
		delete(s.vars, a.bare)
		s.changed[a.bare] = true
	}
}

// expand gives the value of word parts: no field splitting nor pathname
// expansion, as in an assignment.
func (s *envState) expand(line int, parts []wordPart) string {
	var b strings.Builder
	for _, p := range parts {
		if p.param == nil {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(s.param(line, p.param))
	}
	return b.String()
}

func (s *envState) param(line int, p *paramExp) string {
	v, set := s.vars[p.name]
	null := !set || v == ""
	if strings.HasPrefix(p.op, ":") {
		set = !null
	}
	switch strings.TrimPrefix(p.op, ":") {
	case "":
		if !set {
			s.warn(line, "$%s is not set by the image's scripts (only known at run time): expanded as empty", p.name)
		}
		return v
	case "-":
		if !set {
			return s.expand(line, p.word)
		}
	case "=":
		if !set {
			s.set(p.name, s.expand(line, p.word))
			return s.vars[p.name]
		}
	case "+":
		if set {
			return s.expand(line, p.word)
		}
		return ""
	}
	return v
}
