package runtime

import (
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/containerinit"
)

// forwarder sends the launcher's signals to the program. Signals that arrive
// before the program's pid is known are kept and sent when it is.
type forwarder struct {
	ch      chan os.Signal
	mu      sync.Mutex
	pid     int
	pending []os.Signal
	stopped bool
}

func newForwarder() *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 16)}
	signal.Notify(f.ch, containerinit.Forwarded...)
	go f.loop()
	return f
}

func (f *forwarder) loop() {
	for sig := range f.ch {
		if fromTerminal(sig) && inTerminalForeground() {
			continue // the terminal sent it to the program too
		}
		f.mu.Lock()
		switch {
		case f.stopped:
		case f.pid == 0:
			f.pending = append(f.pending, sig)
		default:
			_ = syscall.Kill(f.pid, sig.(syscall.Signal))
		}
		f.mu.Unlock()
	}
}

func (f *forwarder) setTarget(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pid = pid
	for _, sig := range f.pending {
		_ = syscall.Kill(pid, sig.(syscall.Signal))
	}
	f.pending = nil
}

// stop ends forwarding; the program is gone (its pid may be reused).
func (f *forwarder) stop() {
	signal.Stop(f.ch)
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	close(f.ch)
}

func fromTerminal(sig os.Signal) bool {
	return sig == syscall.SIGINT || sig == syscall.SIGQUIT
}

// inTerminalForeground reports whether the launcher's process group is the
// foreground group of the terminal on stdin, stdout or stderr: the terminal
// then delivers Ctrl-C and Ctrl-\ to the program by itself.
func inTerminalForeground() bool {
	for fd := 0; fd <= 2; fd++ {
		pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
		if err == nil {
			return pg == unix.Getpgrp()
		}
	}
	return false
}
