package runtime

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/sqfuse"
)

// waitForLine reads r until a line containing want, or fails after timeout.
func waitForLine(t *testing.T, r io.Reader, want string, timeout time.Duration) {
	t.Helper()
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				found <- true
				return
			}
		}
		found <- false
	}()
	select {
	case ok := <-found:
		if !ok {
			t.Fatalf("output ended before %q", want)
		}
	case <-time.After(timeout):
		t.Fatalf("no %q after %v", want, timeout)
	}
}

func TestSIGTERMReachesTheProgram(t *testing.T) {
	requireUnprivileged(t)
	trapped(t, "TERM", 7, nil, func(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGTERM) })
}

// trapped runs a program that traps sig and exits with code, calls send
// once the program is ready, and checks that the program caught it.
func trapped(t *testing.T, sig string, code int, attr *syscall.SysProcAttr, send func(*exec.Cmd) error) {
	t.Helper()
	script := fmt.Sprintf(`trap 'echo got-%s; exit %d' %s; echo ready; while :; do sleep 0.05; done`, sig, code, sig)
	cmd := launcherCmd(t, launch{opts: args("sh", "-c", script)}.spec(t))
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	waitForLine(t, br, "ready", 10*time.Second)
	if err := send(cmd); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	err = cmd.Wait()
	if cmd.ProcessState.ExitCode() != code || !strings.Contains(string(rest), "got-"+sig) {
		t.Fatalf("exit %d (%v), output %q", cmd.ProcessState.ExitCode(), err, rest)
	}
}

// TestProgramSignalsAreDefault: init ignores the signals sent to the whole
// process group (containerinit.ignoreSignals), and the program must not
// inherit that: a shell could not even trap them.
func TestProgramSignalsAreDefault(t *testing.T) {
	requireUnprivileged(t)
	out := launch{opts: args("cat", "/proc/self/status")}.run(t).mustSucceed(t)
	line := lineOf(out, "SigIgn:")
	ign, err := strconv.ParseUint(line, 16, 64)
	if err != nil {
		t.Fatalf("SigIgn %q: %v", line, err)
	}
	// Only the signals init ignores: others may be ignored by whoever
	// started the tests, and such dispositions are inherited by design.
	for _, s := range containerinit.Forwarded {
		if ign&(1<<(uint(s.(syscall.Signal))-1)) != 0 {
			t.Errorf("the program ignores %v (SigIgn %s)", s, line)
		}
	}
}

// TestGroupSIGINTReachesOnlyTheProgram: Ctrl-C (SIGINT to the foreground
// process group: launcher, init and program) is handled by the program,
// and init survives it to report the program's status.
func TestGroupSIGINTReachesOnlyTheProgram(t *testing.T) {
	requireUnprivileged(t)
	trapped(t, "INT", 9, &syscall.SysProcAttr{Setpgid: true},
		func(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) })
}

func TestInteractiveSessionThroughAPty(t *testing.T) {
	requireUnprivileged(t)
	spec := launch{opts: args("sh", "-i")}.spec(t)
	cmd := launcherCmd(t, spec)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, tty); close(done) }()
	_, _ = tty.Write([]byte("[ -t 0 ] && echo stdin-is-a-tty; echo $((6*7))x\nexit 5\n"))
	if err := waitTimeout(cmd, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	<-done
	if cmd.ProcessState.ExitCode() != 5 || !strings.Contains(buf.String(), "42x") || !strings.Contains(buf.String(), "stdin-is-a-tty") {
		t.Fatalf("exit %d, session:\n%s", cmd.ProcessState.ExitCode(), buf.String())
	}
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return nil
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return os.ErrDeadlineExceeded
	}
}

// TestSIGKILLOfTheLauncherLeavesNothing kills launchers at random moments
// (while setting up, while running) and checks that no mount, no FUSE
// server, no program and no temporary directory survives.
func TestSIGKILLOfTheLauncherLeavesNothing(t *testing.T) {
	requireUnprivileged(t)
	const marker = "4242.25" // a sleep argument no other process uses
	spec := launch{opts: args("sleep", marker)}.spec(t)
	// pcocc creates nothing on the host; a private TMPDIR catches a
	// regression that would use it, and /tmp is checked for our own names
	// (other users' and other tests' files come and go there).
	tmpdir := t.TempDir()
	tmpBefore := listDir(t, os.TempDir())
	runs := 50
	if testing.Short() {
		runs = 5
	}
	for i := range runs {
		cmd := launcherCmd(t, spec)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmpdir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = i
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := leftovers(t, marker)
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("left behind:\n%s", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if left := listDir(t, tmpdir); len(left) > 0 {
		t.Errorf("left in TMPDIR: %v", left)
	}
	for name := range listDir(t, os.TempDir()) {
		if !tmpBefore[name] && strings.Contains(name, "pcocc") {
			t.Errorf("new entry in %s: %s", os.TempDir(), name)
		}
	}
}

// leftovers describes the mounts and processes of ours still on the host.
func leftovers(t *testing.T, marker string) string {
	t.Helper()
	var b strings.Builder
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, "fuse.squashfuse") || strings.Contains(l, "fuse.sqfuse") || strings.Contains(l, "overlay") && strings.Contains(l, "upperdir=/tmp/upper") {
			b.WriteString("mount: " + l + "\n")
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		cmdline, err := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		// Whole arguments, not substrings: the command that runs this test
		// may name PCOCC_SQUASHFS_MOUNT=squashfuse_ll.
		if filepath.Base(args[0]) == "squashfuse_ll" || slices.ContainsFunc(args, func(a string) bool {
			return a == sqfuse.Arg || a == marker || a == containerinit.InitArg
		}) {
			b.WriteString("process " + p.Name() + ": " + strings.Join(args, " ") + "\n")
		}
	}
	return b.String()
}

func listDir(t *testing.T, dir string) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Only our own entries: other users may share /tmp.
	m := map[string]bool{}
	for _, e := range ents {
		info, err := e.Info()
		if err == nil && info.Sys().(*syscall.Stat_t).Uid == uint32(os.Getuid()) {
			m[e.Name()] = true
		}
	}
	return m
}

// TestContextEndsTheContainer: Run takes its caller's context; when it is
// cancelled the container is killed, program included, and Run returns.
func TestContextEndsTheContainer(t *testing.T) {
	requireUnprivileged(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once the program runs (it wrote its pid).
		for {
			if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
				cancel()
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	spec := launch{mounts: []string{"src=" + dir + ",dst=/out"}, opts: args("sh", "-c", "echo $$ > /out/pid; exec sleep 1000")}.spec(t)
	r := runSpecCtx(ctx, t, spec, "")
	var le *exitcode.Error
	if !errors.As(r.err, &le) || r.code != 128+int(syscall.SIGKILL) {
		t.Fatalf("Run returned %d, %v; want 137 and a exitcode.Error", r.code, r.err)
	}
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The program dies of its parent death signal, asynchronously.
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i == 1000 {
			t.Fatalf("the program (pid %d) outlived its container", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
