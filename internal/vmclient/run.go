package vmclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// IO is where a remote command reads and writes. With TTY, the remote side
// gets a terminal the size of Stdin's (a terminal put in raw mode meanwhile).
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	TTY            bool
}

// Run runs cmd (a shell command line; empty: a login shell) and returns its
// exit status: 128+N when it was killed by signal N. ctx ends it.
func (c *Client) Run(ctx context.Context, cmd string, o IO) (int, error) {
	s, err := c.ssh.NewSession()
	if err != nil {
		return 0, fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = o.Stdin, o.Stdout, o.Stderr
	if o.TTY {
		restore, err := startTTY(s, o.Stdin)
		if err != nil {
			return 0, err
		}
		defer restore()
	}
	if cmd == "" {
		err = s.Shell()
	} else {
		err = s.Start(cmd)
	}
	if err != nil {
		return 0, fmt.Errorf("ssh: starting %q: %w", cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Signal(ssh.SIGTERM)
		s.Close()
		return 0, ctx.Err()
	}
	return exitStatus(err)
}

func exitStatus(err error) (int, error) {
	var ee *ssh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		if ee.Signal() != "" {
			return 128 + signalNumber(ee.Signal()), nil
		}
		return ee.ExitStatus(), nil
	default:
		return 0, fmt.Errorf("ssh: %w", err)
	}
}

var signals = map[ssh.Signal]syscall.Signal{
	ssh.SIGABRT: syscall.SIGABRT, ssh.SIGALRM: syscall.SIGALRM, ssh.SIGFPE: syscall.SIGFPE,
	ssh.SIGHUP: syscall.SIGHUP, ssh.SIGILL: syscall.SIGILL, ssh.SIGINT: syscall.SIGINT,
	ssh.SIGKILL: syscall.SIGKILL, ssh.SIGPIPE: syscall.SIGPIPE, ssh.SIGQUIT: syscall.SIGQUIT,
	ssh.SIGSEGV: syscall.SIGSEGV, ssh.SIGTERM: syscall.SIGTERM, ssh.SIGUSR1: syscall.SIGUSR1,
	ssh.SIGUSR2: syscall.SIGUSR2,
}

func signalNumber(name string) int {
	if s, ok := signals[ssh.Signal(name)]; ok {
		return int(s)
	}
	return 0
}

// startTTY asks for a remote terminal like the local one, puts the local
// one in raw mode and follows its size.
func startTTY(s *ssh.Session, in io.Reader) (restore func(), err error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("ssh: a terminal was asked for but stdin is not one")
	}
	fd := int(f.Fd())
	w, h, err := term.GetSize(fd)
	if err != nil {
		w, h = 80, 24
	}
	tname := os.Getenv("TERM")
	if tname == "" {
		tname = "xterm"
	}
	if err := s.RequestPty(tname, h, w, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return nil, fmt.Errorf("ssh: asking for a terminal: %w", err)
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		for range winch {
			if w, h, err := term.GetSize(fd); err == nil {
				s.WindowChange(h, w)
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
		term.Restore(fd, old)
	}, nil
}

// Netcat copies in to conn and conn to out (pcocc nc): the end of in
// half-closes conn; it returns when conn has said everything.
func Netcat(ctx context.Context, conn io.ReadWriteCloser, in io.Reader, out io.Writer) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		io.Copy(conn, in)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	_, err := io.Copy(out, conn)
	conn.Close()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
