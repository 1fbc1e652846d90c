//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/slurm"
)

// cobraRunArgs is what the cobra run command (the full program's) makes of
// argv, through the same Globals and runOptions the launcher fills.
func cobraRunArgs(t *testing.T, argv []string) (runArgs, error) {
	t.Helper()
	var got runArgs
	errRan := errors.New("ran")
	g := &Globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	root := newRoot("pcocc", g)
	root.RemoveCommand(findCmd(root, "run"))
	root.AddCommand(runCommand(g, func(_ context.Context, g *Globals, o *runOptions, args []string) error {
		got = runArgs{verbose: g.Verbose, quiet: g.Quiet, opts: *o, target: args[0], program: args[1:]}
		return errRan
	}))
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(argv)
	err := root.ExecuteContext(context.Background())
	if errors.Is(err, errRan) {
		return got, nil
	}
	if err == nil {
		err = errors.New("help or nothing")
	}
	return runArgs{}, err
}

// TestRunArgsAsCobra: every command line the launcher's parser takes, it
// reads as the cobra command does; those it declines go to the full program
// (where cobra reads them, or says what is wrong).
func TestRunArgsAsCobra(t *testing.T) {
	for _, line := range []string{
		"run img",
		"run img true",
		"run img ls -l /",
		"-v run img",
		"-q run -v img",
		"--verbose --quiet run img",
		"run -e A -e B=1 --env C --env=D=2 -eE -e=F img env",
		"run img -e A ls -e B",
		"run --mount src=/a,dst=/b --mount=src=/c,dst=/d img",
		"run -M a,b --ctr-module c --module=d -Me img",
		"run -M '' img",
		"run --no-defaults --no-ep --writable --dry-run img",
		"run --entrypoint '' img x",
		"run --entrypoint=/bin/sh img -c true",
		"run -w /tmp img pwd",
		"run --cwd=/tmp -w/var img",
		"run -- img --opt",
		"run img -- --opt",
		"run img -v -- -x",
		"run -e -x img",
		"run img -",
		"run - img",
		// declined: the full program's
		"run",
		"run -h img",
		"run img --help",
		"run --writable=false img",
		"run -vq img",
		"run --nosuch img",
		"run -M 'a,\"b,c\"' img",
		"run img -e",
		"image list",
		"--version",
		"",
		"-- run img",
	} {
		argv := splitLine(line)
		got, ok := parseRunArgs(argv)
		if !ok {
			continue
		}
		want, err := cobraRunArgs(t, argv)
		if err != nil {
			t.Errorf("%q: the launcher takes it, cobra says %v", line, err)
			continue
		}
		if !reflect.DeepEqual(norm(got), norm(want)) {
			t.Errorf("%q:\nlauncher %+v\ncobra    %+v", line, norm(got), norm(want))
		}
	}
	for _, line := range []string{"run", "run -h img", "run img --help", "run --nosuch img", "image list", "--version", "run -vq img"} {
		if _, ok := parseRunArgs(splitLine(line)); ok {
			t.Errorf("%q: the launcher takes it: it is the full program's", line)
		}
	}
}

// norm makes empty and nil slices alike.
func norm(a runArgs) runArgs {
	for _, p := range []*[]string{&a.opts.env, &a.opts.mounts, &a.opts.modules, &a.program} {
		if len(*p) == 0 {
			*p = nil
		}
	}
	return a
}

// splitLine splits on spaces; ” is an empty word, quotes group words.
func splitLine(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if w == "''" {
			w = ""
		}
		out = append(out, strings.Trim(w, "'"))
	}
	return out
}

// TestSpankArgsAsCobra: the plugin's command lines that the launcher takes,
// it reads as the full program's __spank command does.
func TestSpankArgsAsCobra(t *testing.T) {
	for _, argv := range [][]string{
		{"__spank", "start", "--ctr=img"},
		{"__spank", "check", "--ctr=img", "--ctr-mount=src=/a,dst=/b:src=/c,dst=/d", "--ctr-module=a,b", "--ctr-env=A=1,B", "--ctr-workdir=/tmp", "--ctr-no-defaults"},
		{"__spank", "start", "--ctr=-x", "--ctr-env=--y"},
		{"__spank", "start", "--ctr=a", "--ctr=b"},
		{"__spank", "start", "--ctr="},
		{"__spank", "start", "--ctr=img", "--kernel-tree=/run/pcocc-kernel"},
		{"__spank", "start"},
		// declined
		{"__spank", "start", "--ctr", "img"},
		{"__spank", "start", "--nosuch=1"},
		{"__spank", "stop", "--ctr=img"},
		{"__spank", "check", "--ctr=img", "--kernel-tree=/x"},
		{"__spank", "image", "--ctr=img"},
		{"__spank"},
		{"run", "img"},
	} {
		verb, got, ok := parseSpankArgs(argv)
		if !ok {
			continue
		}
		var want slurm.Options
		var wantVerb string
		g := &Globals{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
		root := newRoot("pcocc", g)
		root.RemoveCommand(findCmd(root, "__spank"))
		root.AddCommand(spankCommand(g, func(_ context.Context, _ *Globals, v string, o *slurm.Options) error {
			wantVerb, want = v, *o
			return nil
		}))
		root.SetArgs(argv)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Errorf("%q: the launcher takes it, cobra says %v", argv, err)
			continue
		}
		if verb != wantVerb || got != want {
			t.Errorf("%q:\nlauncher %s %+v\ncobra    %s %+v", argv, verb, got, wantVerb, want)
		}
	}
	for _, argv := range [][]string{{"__spank", "start", "--ctr", "img"}, {"__spank", "stop"}, {"__spank", "start", "--nosuch=1"}, {"__spank", "check", "--kernel-tree=/x"}, {"__spank", "image", "--ctr=img"}} {
		if _, _, ok := parseSpankArgs(argv); ok {
			t.Errorf("%q: the launcher takes it", argv)
		}
	}
}
