package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

func args(a ...string) container.Options { return container.Options{Args: a} }

func TestRunsAsTheUserWithNoPrivilege(t *testing.T) {
	requireUnprivileged(t)
	u := hostUser(t)
	out := sh(t, `id -u; id -g; id -un; grep -E '^(NoNewPrivs|Cap(Inh|Prm|Eff|Amb)):' /proc/self/status`).mustSucceed(t)
	want := []string{strconv.Itoa(u.UID), strconv.Itoa(u.GID), u.Name}
	got := strings.Fields(out)
	if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("id = %q, want %q", got, want)
	}
	for _, k := range []string{"CapInh:", "CapPrm:", "CapEff:", "CapAmb:"} {
		if v := lineOf(out, k); v != "0000000000000000" {
			t.Errorf("%s %s, want none", k, v)
		}
	}
	if v := lineOf(out, "NoNewPrivs:"); v != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", v)
	}
}

func TestSetuidBinaryGainsNothing(t *testing.T) {
	requireUnprivileged(t)
	out := launch{opts: args("/suid/sh", "-c", `id -u; grep CapEff /proc/self/status; ls -l /suid/sh; grep " / / " /proc/self/mountinfo`)}.run(t).mustSucceed(t)
	if f := strings.Fields(out); len(f) < 4 || f[0] != strconv.Itoa(os.Getuid()) || f[2] != "0000000000000000" || !strings.HasPrefix(f[3], "-rws") {
		t.Errorf("setuid binary: %q", out)
	}
	// The image is mounted nosuid (and the program has no_new_privs): the
	// bit is there but means nothing.
	if root := lineOf(out, ""); !strings.Contains(out, "nosuid") || root == "" {
		t.Errorf("root not mounted nosuid: %q", out)
	}
}

func TestPasswdAndGroupKnowTheUser(t *testing.T) {
	requireUnprivileged(t)
	u := hostUser(t)
	out := sh(t, "cat /etc/passwd /etc/group; echo; ls -ld /").mustSucceed(t)
	for _, want := range []string{
		"root:x:0:0:root:/root:/bin/sh",
		u.Name + ":x:" + strconv.Itoa(u.UID) + ":" + strconv.Itoa(u.GID) + ":",
		u.Group + ":x:" + strconv.Itoa(u.GID) + ":",
		"drwxr-xr-x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestWorkingDirectory(t *testing.T) {
	requireUnprivileged(t)
	host := t.TempDir() // exists inside too: /tmp is the host's
	tests := []struct {
		name     string
		hostCwd  string
		imageDir string
		cwdOpt   string
		want     string
		code     int
	}{
		{name: "host cwd", hostCwd: host, want: host},
		{name: "host cwd missing falls back to /", hostCwd: "/nonexistent/dir", want: "/"},
		{name: "image dir wins", hostCwd: host, imageDir: "/app", want: "/app"},
		{name: "--cwd wins", hostCwd: host, imageDir: "/app", cwdOpt: "/etc", want: "/etc"},
		{name: "--cwd missing is an error", hostCwd: host, cwdOpt: "/nonexistent", code: exitcode.Setup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := args("pwd")
			o.Cwd = tt.cwdOpt
			r := launch{cwd: tt.hostCwd, config: imagemeta.Config{WorkingDir: tt.imageDir}, opts: o}.run(t)
			if tt.code != 0 {
				if r.code != tt.code || r.err == nil {
					t.Fatalf("code %d err %v, want %d", r.code, r.err, tt.code)
				}
				return
			}
			if got := strings.TrimSpace(r.mustSucceed(t)); got != tt.want {
				t.Errorf("pwd = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	requireUnprivileged(t)
	l := launch{
		config:  imagemeta.Config{Env: []string{"PATH=/usr/bin:/bin", "IMG=image"}},
		hostEnv: []string{"SECRET=hunter2", "KEEP=kept", "OMPI_A=a", "OMPI_B=b"},
		env:     []string{"KEEP", "SET=value with spaces", "re(^OMPI_)", "pp(PATH)=/pre", "ps(PATH)=/post", "IMG=override"},
		opts:    args("env"),
	}
	out := l.run(t).mustSucceed(t)
	for _, want := range []string{"KEEP=kept", "SET=value with spaces", "OMPI_A=a", "OMPI_B=b",
		"PATH=/pre:/usr/bin:/bin:/post", "IMG=override", "HOME=" + hostUser(t).Home} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("a host variable leaked into the container:\n%s", out)
	}
}

func TestEntrypoint(t *testing.T) {
	requireUnprivileged(t)
	cfg := imagemeta.Config{Entrypoint: []string{"/bin/ep.sh"}, Cmd: []string{"default", "cmd"}}
	tests := []struct {
		name string
		opts container.Options
		want string
	}{
		{"entrypoint+cmd", container.Options{}, "ep:default cmd"},
		{"entrypoint+args", args("a", "b"), "ep:a b"},
		{"no-ep with args", container.Options{NoEntrypoint: true, Args: []string{"echo", "direct"}}, "direct"},
		{"no-ep runs cmd", container.Options{NoEntrypoint: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := launch{config: cfg, opts: tt.opts}.run(t)
			if tt.want == "" { // CMD "default" is not a program: 127 proves it ran CMD, not the entrypoint
				if r.code != exitcode.NotFound || !strings.Contains(r.err.Error(), `"default"`) {
					t.Fatalf("code %d err %v", r.code, r.err)
				}
				return
			}
			if got := strings.TrimSpace(r.mustSucceed(t)); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeredocOnStdin(t *testing.T) {
	requireUnprivileged(t)
	l := launch{config: imagemeta.Config{Cmd: []string{"/bin/sh"}}, stdin: "echo from-stdin\necho $((6*7))\nexit 3\necho not-reached\n"}
	r := l.run(t)
	if r.code != 3 || r.err != nil || r.stdout != "from-stdin\n42\n" {
		t.Fatalf("code %d err %v stdout %q stderr %q", r.code, r.err, r.stdout, r.stderr)
	}
}

func TestExitCodes(t *testing.T) {
	requireUnprivileged(t)
	tests := []struct {
		name    string
		argv    []string
		code    int
		launchE bool // a pcocc error (message), not the program's status
	}{
		{"success", []string{"true"}, 0, false},
		{"status", []string{"sh", "-c", "exit 3"}, 3, false},
		{"killed by signal", []string{"sh", "-c", "kill -TERM $$"}, 128 + 15, false},
		{"not executable", []string{"/bin/noexec"}, exitcode.NotExec, true},
		{"not executable in PATH", []string{"noexec"}, exitcode.NotExec, true},
		{"directory", []string{"/etc"}, exitcode.NotExec, true},
		{"not found", []string{"no-such-command"}, exitcode.NotFound, true},
		{"not found by path", []string{"/no/such/file"}, exitcode.NotFound, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := launch{opts: args(tt.argv...)}.run(t)
			if r.code != tt.code || (r.err != nil) != tt.launchE {
				t.Fatalf("code %d err %v, want %d (error: %v)", r.code, r.err, tt.code, tt.launchE)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	requireUnprivileged(t)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "file"), []byte("host-data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := launch{
		mounts: []string{"src=" + ro + ",dst=/data/ro,ro:src=" + rw + ",dst=/data/rw", "src=" + testImage(t) + ",dst=/opt/img,type=squashfs"},
		opts: args("sh", "-c", `cat /data/ro/file; touch /data/ro/new 2>/dev/null && echo ro-writable;
			echo inside > /data/rw/out; cat /opt/img/etc/marker; touch /opt/img/x 2>/dev/null && echo sq-writable; true`),
	}
	out := l.run(t).mustSucceed(t)
	if out != "host-data\nimage-marker\n" {
		t.Errorf("output %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(rw, "out")); string(b) != "inside\n" {
		t.Errorf("read-write mount: host sees %q", b)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Error("read-only mount was written")
	}
}

func TestTmpIsTheHosts(t *testing.T) {
	requireUnprivileged(t)
	dir := t.TempDir()
	if !strings.HasPrefix(dir, "/tmp/") {
		t.Skipf("TMPDIR is not under /tmp: %s", dir)
	}
	if err := os.WriteFile(filepath.Join(dir, "in"), []byte("from-host"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := sh(t, "cat "+dir+"/in; echo from-container > "+dir+"/out").mustSucceed(t)
	if out != "from-host" {
		t.Errorf("container read %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "from-container\n" {
		t.Errorf("host read %q", b)
	}
}

func TestImageIsReadOnlyUnlessWritable(t *testing.T) {
	requireUnprivileged(t)
	script := "echo changed > /etc/marker && echo new > /newfile && cat /etc/marker /newfile"
	r := sh(t, script)
	if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("read-only image: code %d stderr %q", r.code, r.stderr)
	}
	w := launch{opts: container.Options{Writable: true, Args: []string{"sh", "-c", script}}}.run(t).mustSucceed(t)
	if w != "changed\nnew\n" {
		t.Errorf("writable: %q", w)
	}
	after := sh(t, "cat /etc/marker; ls /newfile 2>&1").stdout
	if !strings.HasPrefix(after, "image-marker\n") || !strings.Contains(after, "No such file") {
		t.Errorf("changes survived the container: %q", after)
	}
}

func TestFaults(t *testing.T) {
	requireUnprivileged(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.sqfs")
	truncated := filepath.Join(dir, "truncated.sqfs")
	if err := os.WriteFile(garbage, []byte("this is not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(testImage(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, full[:4096], 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		edit   func(*container.Spec)
		errHas string
	}{
		{"not a squashfs", func(s *container.Spec) { s.Rootfs = garbage }, "not a squashfs file"},
		{"truncated squashfs", func(s *container.Spec) { s.Rootfs = truncated }, `image "busybox": `},
		{"missing image", func(s *container.Spec) { s.Rootfs = filepath.Join(dir, "nope") }, "no such file"},
		{"missing mount source", func(s *container.Spec) {
			s.Mounts = append(s.Mounts, container.Mount{Type: "bind", Source: "/nonexistent", Destination: "/x", Origin: "command line"})
		}, `command line: mount source "/nonexistent" does not exist`},
		{"mount point on a host directory", func(s *container.Spec) {
			s.Mounts = append(s.Mounts, container.Mount{Type: "bind", Source: dir, Destination: "/tmp/pcocc-no-such-dir/x", Origin: "command line"})
		}, "pcocc does not create directories on the host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := launch{opts: args("true")}.spec(t)
			tt.edit(spec)
			r := runSpec(t, spec, "")
			if r.code != exitcode.Setup || r.err == nil || !strings.Contains(r.err.Error(), tt.errHas) {
				t.Fatalf("code %d err %v, want %d and %q", r.code, r.err, exitcode.Setup, tt.errHas)
			}
		})
	}
	t.Run("optional missing source is skipped", func(t *testing.T) {
		spec := launch{opts: args("true")}.spec(t)
		spec.Mounts = append(spec.Mounts, container.Mount{Type: "bind", Source: "/nonexistent", Destination: "/x", Optional: true, Origin: "module"})
		runSpec(t, spec, "").mustSucceed(t)
	})
	t.Run("missing home", func(t *testing.T) {
		spec := launch{opts: args("sh", "-c", "echo $HOME; grep ^$(id -un): /etc/passwd")}.spec(t)
		spec.User.Home = "/nonexistent/home"
		spec.Env = append(spec.Env, "HOME=/nonexistent/home")
		out := runSpec(t, spec, "").mustSucceed(t)
		if !strings.Contains(out, ":/nonexistent/home:") {
			t.Errorf("output %q", out)
		}
	})
}

// TestOnlyStdioReachesTheProgram: descriptors the caller left open without
// close-on-exec (a shell's `exec 7</home/u; exec 8>>~/f`) must not reach the
// program: they would give it host files the container does not show.
func TestOnlyStdioReachesTheProgram(t *testing.T) {
	requireUnprivileged(t)
	dir := t.TempDir()
	var fds []string
	for _, flags := range []int{unix.O_RDONLY | unix.O_DIRECTORY, unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND} {
		p := dir
		if flags&unix.O_CREAT != 0 {
			p = filepath.Join(dir, "f")
		}
		fd, err := unix.Open(p, flags, 0o600) // no O_CLOEXEC, like a shell's
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, strconv.Itoa(fd))
	}
	out := sh(t, `for fd in `+strings.Join(fds, " ")+`; do test -e /proc/self/fd/$fd && echo "fd $fd: $(readlink /proc/self/fd/$fd)"; done; echo done`).mustSucceed(t)
	if out != "done\n" {
		t.Errorf("the program got the caller's descriptors %s:\n%s", fds, out)
	}
}

// TestInstalledUnderTmp: pcocc installed under /tmp (a checkout built there)
// starts squashfs servers from the container init after the init covered
// /tmp with its scratch tmpfs. The init must run the file it opened before,
// not look the path up again ("fork/exec /tmp/.../pcocc: no such file or
// directory").
func TestInstalledUnderTmp(t *testing.T) {
	requireUnprivileged(t)
	dir, err := os.MkdirTemp("/tmp", "pcocc-rt-bin-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "pcocc")
	if out, err := exec.Command("cp", self, exe).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
	l := launch{
		mounts: []string{"src=" + testImage(t) + ",dst=/opt/img,type=squashfs"},
		opts:   args("cat", "/opt/img/etc/marker"),
	}
	cmd := launcherCmd(t, l.spec(t))
	cmd.Path = exe
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "image-marker\n" {
		t.Fatalf("launcher in %s: %v: %s", dir, err, out)
	}
}
