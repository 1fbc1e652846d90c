//go:build !pcocc_launcher

package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// decoder walks the YAML syntax tree of one file by hand rather than
// unmarshalling into structs: that is how every error gets the exact
// position of the key or value at fault, and how unknown keys get a
// suggestion. It collects every error of the file instead of stopping at
// the first, so one run of a command shows all that needs fixing.
type decoder struct {
	file    string
	dir     string // the configuration directory the file belongs to
	env     func(string) string
	check   func(string) error // validates env entries; may be nil
	anchors map[string]ast.Node
	errs    []error
}

// parseFile reads and parses one file; it returns the document body (nil
// for an empty file) or an *Error.
func parseFile(file string) (ast.Node, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &Error{File: file, Msg: "reading configuration", Err: err}
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, syntaxError(file, err)
	}
	switch len(f.Docs) {
	case 0:
		return nil, nil
	case 1:
		return f.Docs[0].Body, nil
	}
	return nil, errorAt(nodeSource(file, f.Docs[1].Body), nil,
		"a configuration file holds one YAML document, found %d", len(f.Docs))
}

// syntaxError turns a go-yaml parse error into an *Error; go-yaml's own
// text spans several lines with a source excerpt, which is not our format.
func syntaxError(file string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		msg := "invalid YAML: " + ye.GetMessage()
		if strings.Contains(ye.GetToken().Value, "\t") || strings.Contains(msg, "'\t'") {
			msg += " (YAML indents with spaces, not tabs: use spaces)"
		}
		return &Error{File: file, Line: p.Line, Col: p.Column, Msg: msg}
	}
	return &Error{File: file, Msg: "invalid YAML", Err: err}
}

func nodeSource(file string, n ast.Node) Source {
	if n == nil || n.GetToken() == nil {
		return Source{File: file}
	}
	p := n.GetToken().Position
	return Source{File: file, Line: p.Line, Col: p.Column}
}

// at is where n starts. A block mapping's own token is the ':' after its
// first key, so a mapping is placed at that key instead: that is where a
// user looks for "mount 2" or a missing key.
func (d *decoder) at(n ast.Node) Source {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && !m.IsFlowStyle {
		return nodeSource(d.file, m.Values[0].Key)
	}
	return nodeSource(d.file, n)
}

// errorf records an error at n; ctx ("module \"x\"") prefixes the message.
func (d *decoder) errorf(n ast.Node, ctx, format string, args ...any) {
	d.wrapf(n, ctx, nil, format, args...)
}

func (d *decoder) wrapf(n ast.Node, ctx string, err error, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if ctx != "" {
		msg = ctx + ": " + msg
	}
	d.errs = append(d.errs, errorAt(d.at(n), err, "%s", msg))
}

// sortedErrs returns the file's errors by position, so they read top to
// bottom even though some checks ("missing key") run after a mapping.
func (d *decoder) sortedErrs() []error {
	pos := func(err error) (int, int) {
		if e, ok := err.(*Error); ok {
			return e.Line, e.Col
		}
		return 0, 0
	}
	slices.SortStableFunc(d.errs, func(a, b error) int {
		la, ca := pos(a)
		lb, cb := pos(b)
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(ca, cb))
	})
	return d.errs
}

// resolve looks through tags and anchors and follows aliases, so that
// anchors may share a list of mounts between modules.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
		case *ast.AnchorNode:
			if d.anchors == nil {
				d.anchors = map[string]ast.Node{}
			}
			d.anchors[v.Name.String()] = v.Value
			n = v.Value
		case *ast.AliasNode:
			target, ok := d.anchors[v.Value.String()]
			if !ok {
				d.errorf(n, "", "unknown alias %q", v.Value.String())
				return nil
			}
			n = target
		default:
			return n
		}
	}
}

// kind describes a node for "expected X, found Y" messages.
func kind(n ast.Node) string {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return fmt.Sprintf("%v", v.Value)
	case *ast.StringNode, *ast.LiteralNode:
		return fmt.Sprintf("the string %q", scalarText(n))
	}
	return fmt.Sprintf("%q", n.GetToken().Value)
}

func isNull(n ast.Node) bool {
	_, null := n.(*ast.NullNode)
	return n == nil || null
}

func scalarText(n ast.Node) string {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	}
	return n.GetToken().Value
}

// pairs returns the entries of a mapping node; null counts as empty.
// Anything else is an error: "ctx: expected what, found a list".
func (d *decoder) pairs(n ast.Node, ctx, what string) []*ast.MappingValueNode {
	n = d.resolve(n)
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	if !isNull(n) {
		d.errorf(n, ctx, "expected %s, found %s", what, kind(n))
	}
	return nil
}

// key returns the text of a mapping key, refusing merge keys ("<<"): a
// merged mapping would hide where each value comes from.
func (d *decoder) key(p *ast.MappingValueNode, ctx string) (string, bool) {
	k := d.resolve(p.Key)
	switch k.(type) {
	case *ast.MergeKeyNode:
		d.errorf(k, ctx, "merge keys (<<) are not supported")
		return "", false
	case *ast.MappingNode, *ast.SequenceNode, *ast.MappingKeyNode:
		d.errorf(k, ctx, "expected a plain key, found %s", kind(k))
		return "", false
	}
	return scalarText(k), true
}

// fields walks a mapping with a fixed set of keys, calling set for each
// known one and reporting unknown ones with a suggestion. It reports whether
// every key was known: callers then skip "missing key" errors, which a
// misspelt key ("pth") would otherwise add as a second line for one mistake.
func (d *decoder) fields(n ast.Node, ctx string, known []string, set func(key string, v ast.Node)) bool {
	clean := true
	for _, p := range d.pairs(n, ctx, "a mapping of "+strings.Join(known, ", ")) {
		k, ok := d.key(p, ctx)
		if !ok {
			clean = false
			continue
		}
		if !slices.Contains(known, k) {
			d.unknownKey(p.Key, ctx, k, known)
			clean = false
			continue
		}
		set(k, p.Value)
	}
	return clean
}

func (d *decoder) unknownKey(n ast.Node, ctx, k string, known []string) {
	if s := suggest(k, known); s != "" {
		d.errorf(n, ctx, "unknown key %q (did you mean %q?)", k, s)
		return
	}
	d.errorf(n, ctx, "unknown key %q (expected one of: %s)", k, strings.Join(known, ", "))
}

// str decodes a string value. Numbers are accepted as their text
// ("description: 2024"); booleans, lists and mappings are not.
func (d *decoder) str(n ast.Node, ctx, key string) string {
	n = d.resolve(n)
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode:
		return scalarText(n)
	}
	if !isNull(n) {
		d.errorf(n, ctx, "%s: expected a string, found %s", key, kind(n))
	}
	return ""
}

// boolean decodes true or false; null means false. YAML 1.1 spellings
// such as "yes" are refused rather than silently read as strings.
func (d *decoder) boolean(n ast.Node, ctx, key string) bool {
	n = d.resolve(n)
	if b, ok := n.(*ast.BoolNode); ok {
		return b.Value
	}
	if !isNull(n) {
		d.errorf(n, ctx, "%s: expected true or false, found %s", key, kind(n))
	}
	return false
}

// list returns the items of a sequence; null counts as empty.
func (d *decoder) list(n ast.Node, ctx, key string) []ast.Node {
	n = d.resolve(n)
	if s, ok := n.(*ast.SequenceNode); ok {
		return s.Values
	}
	if !isNull(n) {
		d.errorf(n, ctx, "%s: expected a list, found %s", key, kind(n))
	}
	return nil
}
