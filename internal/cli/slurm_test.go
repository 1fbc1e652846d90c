//go:build !pcocc_launcher

package cli

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The plugin's descriptors reach the helper without close-on-exec (dup2
// clears it); spankFile must set it, or module generators inherit the
// result and stop pipes.
func TestSpankFileCloseOnExec(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fd, err := unix.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if flags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); flags&unix.FD_CLOEXEC != 0 {
		t.Fatal("dup left close-on-exec set: the test proves nothing")
	}
	f, err := spankFile(fd, "result")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d: flags %#x, %v: not close-on-exec", fd, flags, err)
	}
	if _, err := spankFile(1<<20, "stop"); err == nil {
		t.Error("spankFile accepted a descriptor that is not open")
	}
}
