package modules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pcocc/pcocc/internal/config"
)

// DefaultTimeout bounds a generator that sets no generator_timeout.
const DefaultTimeout = 10 * time.Second

// Bounds on what a generator may print: it describes mounts, not data.
const (
	maxOutput = 1 << 20
	maxStderr = 64 << 10
)

// Generators runs module generators on the host, as the calling user.
type Generators struct {
	// Self is the running pcocc: a generator whose first word is "pcocc"
	// (or "pcocc-rs") runs it, so that a site configuration needs no path
	// for pcocc's own generators (pcocc module generate nvidia).
	Self    string
	Timeout time.Duration // zero: DefaultTimeout
}

// Run runs m's generator with env as its environment (plus PCOCC_MODULE)
// and parses its output. Every error names the module and the generator.
func (g *Generators) Run(ctx context.Context, m config.Module, env []string) (Output, error) {
	fail := func(err error) (Output, error) {
		return Output{}, fmt.Errorf("%s: generator %q: %w", Origin(m.Name), m.Generator, err)
	}
	argv, err := g.argv(m)
	if err != nil {
		return fail(err)
	}
	timeout := g.timeout(m)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stdout, stderr, err := run(ctx, argv, slices.Concat(env, []string{"PCOCC_MODULE=" + m.Name}))
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fail(fmt.Errorf("did not finish within %s: killed (set generator_timeout to allow more)", timeout))
	case err != nil:
		return fail(withStderr(err, stderr, filepath.Base(argv[0])))
	}
	out, err := ParseOutput(stdout)
	if err != nil {
		return fail(err)
	}
	out.Warnings = lines(stderr)
	return out, nil
}

func (g *Generators) timeout(m config.Module) time.Duration {
	switch {
	case m.GeneratorTimeout > 0:
		return m.GeneratorTimeout
	case g.Timeout > 0:
		return g.Timeout
	}
	return DefaultTimeout
}

// argv splits the generator on blanks (no shell) and finds its program: the
// running pcocc for "pcocc", a path relative to the module's configuration
// directory when it has a '/', else a program on PATH.
func (g *Generators) argv(m config.Module) ([]string, error) {
	argv := strings.Fields(m.Generator)
	if len(argv) == 0 {
		return nil, errors.New("empty command")
	}
	switch p := argv[0]; {
	case p == "pcocc" || p == "pcocc-rs":
		if g.Self == "" {
			return nil, errors.New("cannot find the pcocc executable")
		}
		argv[0] = g.Self
	case filepath.IsAbs(p):
	case strings.Contains(p, "/"):
		argv[0] = filepath.Join(m.Dir, p)
	default:
		lp, err := exec.LookPath(p)
		if err != nil {
			return nil, err
		}
		argv[0] = lp
	}
	return argv, nil
}

// run runs argv in its own process group, so that a timeout kills the
// children it started too (a shell script's sleep, for one).
func run(ctx context.Context, argv, env []string) ([]byte, []byte, error) {
	stdout := &capped{max: maxOutput}
	stderr := &capped{max: maxStderr}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A child that keeps stdout open must not keep us waiting.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err == nil && stdout.over {
		err = fmt.Errorf("printed more than %d bytes", maxOutput)
	}
	return stdout.buf.Bytes(), stderr.buf.Bytes(), err
}

// withStderr adds the generator's last words to its failure, without the
// "prog: " prefix that tools put on their messages (the generator is named
// already).
func withStderr(err error, stderr []byte, prog string) error {
	ls := lines(stderr)
	for i, l := range ls {
		ls[i] = strings.TrimPrefix(l, prog+": ")
	}
	if len(ls) == 0 {
		return fmt.Errorf("failed: %w", err)
	}
	if len(ls) > 3 {
		ls = ls[len(ls)-3:]
	}
	return fmt.Errorf("failed (%w): %s", err, strings.Join(ls, "; "))
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// capped keeps the first max bytes written and notes the rest.
type capped struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.over = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.buf.Write(p)
}
