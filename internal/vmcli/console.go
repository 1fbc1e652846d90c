package vmcli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pcocc/pcocc/internal/qmp"
	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmjob"
)

func newConsoleCmd(e *env) *cobra.Command {
	var t target
	var logOnly bool
	c := &cobra.Command{
		Use:   "console [-l] [-j JOBID|-J NAME] vmN",
		Short: "Connect to the serial console of a VM",
		Long: `Connect the terminal to the serial console of a VM; hit Ctrl-C three
times in a row to leave. -l prints what the console has shown since the VM
started (its log) and exits.`,
		Args: exactArgs(1, "a VM name (vm0, vm1, ...)"),
		RunE: func(c *cobra.Command, args []string) error {
			var flags []string
			if logOnly {
				flags = []string{"-l"}
			}
			j, v, err := t.localVM(e, args[0], "console", flags...)
			if err != nil || j == nil {
				return err
			}
			f := vm.FilesFor(j.Dir, vmIndex(v))
			if logOnly {
				b, err := os.ReadFile(f.ConsoleLog)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(b)
				return err
			}
			return console(e, f.Console)
		},
	}
	c.Flags().BoolVarP(&logOnly, "log", "l", false, "print the console's log and exit")
	t.flags(c)
	return c
}

// localVM is vm for the commands that need the VM's node-local files
// (console, reset, save). For a Slurm cluster, it runs the command again on
// the VM's node (runOnNode) and returns a nil job.
func (t *target) localVM(e *env, name, cmd string, flags ...string) (*vmjob.Job, vmjob.VM, error) {
	if t.onNode {
		return nodeJob(t.id, name)
	}
	j, v, err := t.vm(e, name)
	if err != nil || !j.Slurm {
		return j, v, err
	}
	return nil, v, runOnNode(e, j, v, cmd, flags)
}

// vm finds the targeted cluster's VM name.
func (t *target) vm(e *env, name string) (*vmjob.Job, vmjob.VM, error) {
	j, err := t.job(e)
	if err != nil {
		return nil, vmjob.VM{}, err
	}
	v, err := j.VM(name)
	return j, v, err
}

func vmIndex(v vmjob.VM) int {
	var i int
	fmt.Sscanf(v.Name, "vm%d", &i)
	return i
}

// console copies between the terminal (raw) and the console socket until
// three Ctrl-C in a row or the socket closes.
func console(e *env, sock string) error {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer conn.Close()
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		old, err := term.MakeRaw(int(f.Fd()))
		if err == nil {
			defer term.Restore(int(f.Fd()), old)
		}
		fmt.Fprint(e.stderr, "Connected to the console; hit Ctrl-C 3 times to leave.\r\n")
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(e.stdout, conn); done <- struct{}{} }()
	go func() { copyUntilCtrlC(conn, e.stdin); done <- struct{}{} }()
	<-done
	return nil
}

// copyUntilCtrlC copies in to out and returns after three Ctrl-C in a row.
func copyUntilCtrlC(out io.Writer, in io.Reader) {
	buf := make([]byte, 256)
	n3 := 0
	for {
		n, err := in.Read(buf)
		for i, b := range buf[:n] {
			if b == 3 {
				n3++
			} else {
				n3 = 0
			}
			if n3 == 3 {
				out.Write(buf[:i]) // the first two reached the VM as typed
				return
			}
		}
		if n > 0 {
			if _, werr := out.Write(bytes.Clone(buf[:n])); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func newResetCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{
		Use:   "reset [-j JOBID|-J NAME] vmN",
		Short: "Reset a VM, as its reset button would",
		Args:  exactArgs(1, "a VM name (vm0, vm1, ...)"),
		RunE: func(c *cobra.Command, args []string) error {
			j, v, err := t.localVM(e, args[0], "reset")
			if err != nil || j == nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context(), 10*time.Second)
			defer cancel()
			q, err := qmp.Dial(ctx, vm.FilesFor(j.Dir, vmIndex(v)).QMP)
			if err != nil {
				return fmt.Errorf("%s: %w", v.Name, err)
			}
			defer q.Close()
			_, err = q.Execute(ctx, "system_reset", nil)
			return err
		},
	}
	t.flags(c)
	return c
}
