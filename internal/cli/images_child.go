//go:build pcocc_launcher

package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// childImages does a launch's image work in a process of the full program
// (imagework.go): only the launches that need it pay for its start.
type childImages struct{}

// ServeSent runs the server until the container's file system goes away;
// it dies with the launcher (parent death signal).
func (childImages) ServeSent(image *os.File, name string, sock, setupLog *os.File, runLog io.Writer) error {
	defer sock.Close()
	prog, err := libexecProgram(fullProgramName)
	if err != nil {
		setupLog.WriteString(err.Error() + "\n")
		return err
	}
	cmd := exec.Command(prog, serveArg, name)
	cmd.ExtraFiles = []*os.File{image, sock, setupLog}
	cmd.Stderr = runLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		setupLog.WriteString(err.Error() + "\n")
		return err
	}
	sock.Close() // the server's copy is the one that counts (EOF when init dies)
	return cmd.Wait()
}

// Extract unpacks in a child; cancelling ctx kills it.
func (childImages) Extract(ctx context.Context, image *os.File, dirfd int, limit int64) error {
	prog, err := libexecProgram(fullProgramName)
	if err != nil {
		return err
	}
	dup, err := unix.FcntlInt(uintptr(dirfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dup), "unpack-dir")
	defer dir.Close()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, prog, extractArg, strconv.FormatInt(limit, 10))
	cmd.ExtraFiles = []*os.File{image, dir}
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	msg := stderr.String()
	if msg == "" {
		msg = prog + " " + extractArg + ": " + err.Error()
	}
	switch ee.ExitCode() {
	case extractFormat:
		return &childError{sqfsformat.ErrFormat, msg}
	case extractLimit:
		return &childError{sqfsformat.ErrLimit, msg}
	}
	return errors.New(msg)
}

// childError is an error the extracting child reported: its message, and
// the kind unpack tells apart.
type childError struct {
	kind error
	msg  string
}

func (e *childError) Error() string { return e.msg }
func (e *childError) Unwrap() error { return e.kind }
