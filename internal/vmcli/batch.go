package vmcli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// runBatch starts `alloc -E SCRIPT` detached (own session, output to a
// file), waits for its job id and prints it.
func runBatch(ctx context.Context, e *env, o *allocOpts, def string) error {
	if o.script == "" {
		return usageErr("batch needs a script: -E SCRIPT")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out := o.output
	if out == "" {
		out = "pcocc-%j.out"
	}
	// The output file is named once the job id is known: start with a
	// temporary one in the same directory, renamed when the id comes.
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(abs), ".pcocc-batch-*")
	if err != nil {
		return fmt.Errorf("batch output: %w", err)
	}
	defer tmp.Close()
	r, w, err := os.Pipe()
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	args := []string{e.name, "alloc", "-E", o.script, "--id-fd", "3"}
	args = append(append(args, o.passFlags()...), def)
	if o.hooks != nil {
		args = o.hooks.Detached(o)
	}
	cmd := &exec.Cmd{Path: exe, Args: args, Stdout: tmp, Stderr: tmp, ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	if err := cmd.Start(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	id, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		// The allocation failed before it had a job: say why.
		cmd.Wait()
		b, _ := os.ReadFile(tmp.Name())
		os.Remove(tmp.Name())
		return exitcode.Wrap(exitcode.Failure, fmt.Errorf("batch: %s", strings.TrimSpace(strings.TrimPrefix(string(b), e.name+": "))))
	}
	final := strings.ReplaceAll(abs, "%j", strconv.Itoa(id))
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("batch output: %w", err)
	}
	fmt.Fprintf(e.stdout, "Submitted batch job %d (output: %s)\n", id, final)
	cmd.Process.Release()
	return nil
}

// passFlags are the options a detached alloc gets again.
func (o *allocOpts) passFlags() []string {
	var a []string
	if o.cores > 0 {
		a = append(a, "-c", strconv.Itoa(o.cores))
	}
	if o.mem != "" {
		a = append(a, "-m", o.mem)
	}
	if o.name != "" {
		a = append(a, "-J", o.name)
	}
	if o.verbose {
		a = append(a, "-v")
	}
	return a
}
