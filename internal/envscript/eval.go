// Package envscript evaluates the environment scripts of a SIF
// (/.singularity.d/env/*.sh) without running them: a lexer and an evaluator
// for the subset of shell Apptainer writes (assignments, export, unset,
// quoting, $VAR and ${VAR...} expansions). What is outside it (commands,
// control flow, substitutions) is skipped with a warning naming its file
// and line, and the evaluation is bounded: hostile scripts cost at most
// maxExpansion bytes of work and give an environment execve accepts.
package envscript

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Bounds of the evaluation: a few lines of shell can double a value at
// each line (A=$A$A), and the result is stored with the image and read by
// every later `image list`. A value is capped at what execve accepts, the
// variables at imagemeta.MaxEnv, what expansions produce in all at
// maxExpansion (then evaluation stops), and the warnings at maxWarnings.
const (
	maxExpansion = 16 << 20
	maxWarnings  = 100
)

// defaultPath is the PATH Apptainer gives a container whose scripts do not
// set one (its action scripts "fix" an unset PATH to this).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// State is the shell environment the scripts build, evaluated in order
// from an empty environment (plus PATH) as Apptainer sources them before
// running a command.
type State struct {
	vars     map[string]string
	exported map[string]bool
	order    []string // first assignment order, for a stable Env
	changed  map[string]bool
	warnings []string
	file     string
	size     int  // bytes of the variables, as an environment holds them
	spent    int  // bytes produced by expansions
	stopped  bool // maxExpansion reached: nothing more is evaluated
}

// New returns the environment before the first script.
func New() *State {
	return &State{
		vars:     map[string]string{"PATH": defaultPath},
		exported: map[string]bool{"PATH": true},
		order:    []string{"PATH"},
		changed:  map[string]bool{},
		size:     len("PATH=") + len(defaultPath) + 1,
	}
}

// Env returns the exported variables the scripts set, as KEY=VALUE; PATH
// only when a script changed it.
func (s *State) Env() []string {
	var env []string
	for _, k := range s.order {
		v, set := s.vars[k]
		if set && s.exported[k] && s.changed[k] {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (s *State) warn(line int, format string, a ...any) {
	switch {
	case len(s.warnings) < maxWarnings:
		s.warnings = append(s.warnings, fmt.Sprintf("%s:%d: %s", s.file, line, fmt.Sprintf(format, a...)))
	case len(s.warnings) == maxWarnings:
		s.warnings = append(s.warnings, fmt.Sprintf("%s:%d: more warnings, not shown", s.file, line))
	}
}

// entrySize is what NAME=value takes in an environment.
func entrySize(name, value string) int { return len(name) + 1 + len(value) + 1 }

// assignChecked sets name to an expanded value (ok: it was expanded
// whole), unless it is over a bound: then the variable keeps its value,
// with a warning.
func (s *State) assignChecked(line int, name, value string, ok bool) {
	old, had := s.vars[name]
	grow := entrySize(name, value)
	if had {
		grow -= entrySize(name, old)
	}
	switch {
	case s.stopped:
	case !ok || entrySize(name, value)-1 > imagemeta.MaxArg:
		s.warn(line, "skipping the assignment of %s: its value is longer than the %d bytes a program's environment entry may hold",
			name, imagemeta.MaxArg)
	case s.size+grow > imagemeta.MaxEnv:
		s.warn(line, "skipping the assignment of %s: the variables would take more than %d bytes", name, imagemeta.MaxEnv)
	default:
		s.set(name, value)
	}
}

func (s *State) set(name, value string) {
	if old, ok := s.vars[name]; ok {
		s.size -= entrySize(name, old)
	} else if !slices.Contains(s.order, name) {
		s.order = append(s.order, name)
	}
	s.size += entrySize(name, value)
	s.vars[name] = value
	s.changed[name] = true
}

// blockOpeners and their closers: a compound command is skipped whole.
var blockClosers = map[string]string{"if": "fi", "for": "done", "while": "done", "until": "done", "case": "esac", "{": "}"}

// Warnings says what the scripts evaluated so far hold that was skipped,
// each as FILE:LINE: what.
func (s *State) Warnings() []string { return s.warnings }

// Eval evaluates one script, named file in warnings; what it cannot
// evaluate is skipped and reported in Warnings.
func (s *State) Eval(file, src string) {
	s.file = file
	cmds := lexScript(src)
	for i := 0; i < len(cmds) && !s.stopped; i++ {
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

func (s *State) evalCommand(c command) {
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
func (s *State) assign(line int, w word, export bool) {
	name, rest, _ := strings.Cut(w.parts[0].lit, "=")
	parts := append([]wordPart{{lit: rest}}, w.parts[1:]...)
	v, ok := s.expand(line, parts)
	s.assignChecked(line, name, v, ok)
	if export {
		s.exported[name] = true
	}
}

func (s *State) export(line int, args []word) {
	for _, a := range args {
		switch {
		case isAssignment(a):
			s.assign(line, a, true)
		case a.plain && validName(a.bare):
			s.exported[a.bare] = true
		default:
			s.warn(line, "skipping export of %q: not a variable name", short(s.expandWarn(line, a.parts)))
		}
	}
}

func (s *State) unset(line int, args []word) {
	for _, a := range args {
		if a.bare == "-v" {
			continue
		}
		if !a.plain || !validName(a.bare) {
			s.warn(line, "skipping unset of %q: not a variable name", short(s.expandWarn(line, a.parts)))
			continue
		}
		if old, ok := s.vars[a.bare]; ok {
			s.size -= entrySize(a.bare, old)
		}
		delete(s.vars, a.bare)
		s.changed[a.bare] = true
	}
}

// expand gives the value of word parts: no field splitting nor pathname
// expansion, as in an assignment. A value longer than imagemeta.MaxArg is
// cut there, and so is one that the evaluation stopped in: ok is false.
func (s *State) expand(line int, parts []wordPart) (string, bool) {
	var b strings.Builder
	for _, p := range parts {
		v, ok := p.lit, true
		if p.param != nil {
			v, ok = s.param(line, p.param)
		}
		if !ok || !s.spend(line, len(v)) || b.Len()+len(v) > imagemeta.MaxArg {
			return b.String(), false
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// expandWarn expands a word quoted in a warning.
func (s *State) expandWarn(line int, parts []wordPart) string {
	v, _ := s.expand(line, parts)
	return v
}

// spend counts n bytes of expansion; past maxExpansion it stops the
// evaluation, with one warning.
func (s *State) spend(line, n int) bool {
	if s.stopped {
		return false
	}
	if s.spent += n; s.spent > maxExpansion {
		s.stopped = true
		s.warn(line, "stopping: the scripts expand to more than %d bytes; what follows is not evaluated", maxExpansion)
		return false
	}
	return true
}

// short cuts a value quoted in a warning.
func short(v string) string {
	if len(v) > 64 {
		return v[:64] + "..."
	}
	return v
}

func (s *State) param(line int, p *paramExp) (string, bool) {
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
		return v, true
	case "-":
		if !set {
			return s.expand(line, p.word)
		}
	case "=":
		if !set {
			v, ok := s.expand(line, p.word)
			s.assignChecked(line, p.name, v, ok)
			return s.vars[p.name], ok
		}
	case "+":
		if set {
			return s.expand(line, p.word)
		}
		return "", true
	}
	return v, true
}
