package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/mountspec"
	"github.com/pcocc/pcocc/internal/sqfuse"
	"github.com/pcocc/pcocc/internal/testutil"
)

// TestMain lets the test binary be its own container init, as pcocc is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == containerinit.InitArg {
		os.Exit(containerinit.Init(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == sqfuse.Arg { // the image's FUSE server
		os.Exit(sqfuse.Main(os.Args[2:]))
	}
	if len(os.Args) > 2 && os.Args[1] == testLaunchArg {
		os.Exit(testLaunch(os.Args[2]))
	}
	if len(os.Args) > 2 && os.Args[1] == testHoldArg {
		os.Exit(testHold(os.Args[2]))
	}
	code := m.Run()
	if imageDir != "" {
		os.RemoveAll(imageDir)
	}
	os.Exit(code)
}

// readSpec reads the container spec a test wrote to a file for a helper.
func readSpec(file string) (*container.Spec, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var spec container.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// testLaunchArg makes the test binary a launcher (pcocc run) of the spec in
// a file, for tests that signal or kill the launcher.
const testLaunchArg = "__test_launch"

func testLaunch(specFile string) int {
	spec, err := readSpec(specFile)
	if err != nil {
		return 99
	}
	code, err := Run(context.Background(), spec, Options{Images: sqfuse.InProcess{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcocc:", err)
		return err.(*exitcode.Error).Code
	}
	return code
}

// launcherCmd returns a command that runs spec in a launcher process.
func launcherCmd(t *testing.T, spec *container.Spec) *exec.Cmd {
	t.Helper()
	return specHelperCmd(t, testLaunchArg, spec)
}

// specHelperCmd returns a command that runs the test binary as the helper
// arg (testLaunchArg, testHoldArg) of spec, written to a file.
func specHelperCmd(t *testing.T, arg string, spec *container.Spec) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return exec.Command("/proc/self/exe", arg, f)
}

// requireUnprivileged skips tests that need to run as an ordinary user with
// the tools of a container host.
func requireUnprivileged(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("runtime tests run as an unprivileged user: go test -c -o /tmp/rt.test ./internal/runtime && runuser -u tester -- /tmp/rt.test")
	}
	testutil.Need(t, "mksquashfs", "squashfuse_ll", "busybox")
	testutil.NeedFUSE(t)
}

var (
	imageOnce sync.Once
	imagePath string
	imageErr  error
	imageDir  string
)

// testImage returns a busybox squashfs built once per test binary run.
func testImage(t *testing.T) string {
	t.Helper()
	imageOnce.Do(func() {
		imageDir, imageErr = os.MkdirTemp("", "pcocc-rt-")
		if imageErr == nil {
			imagePath, imageErr = buildBusybox(imageDir)
		}
	})
	if imageErr != nil {
		t.Fatalf("building the test image: %v", imageErr)
	}
	return imagePath
}

func buildBusybox(dir string) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return "", err
	}
	script := `set -e
R=$1; BB=$2
mkdir -p $R/bin $R/etc $R/app $R/root $R/usr/bin
cp $BB $R/bin/busybox
for a in $($R/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox $R/bin/$a; done
mkdir $R/suid; cp $BB $R/suid/sh; chmod 4755 $R/suid/sh
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > $R/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' > $R/etc/group
echo image-marker > $R/etc/marker
printf '#!/bin/sh\necho "ep:$*"\n' > $R/bin/ep.sh; chmod 755 $R/bin/ep.sh
echo 'not a program' > $R/bin/noexec; chmod 644 $R/bin/noexec
ln -s ../run/missing/resolv.conf $R/etc/resolv.conf
`
	cmd := exec.Command("sh", "-c", script, "sh", rootfs, bb)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	img := filepath.Join(dir, "busybox.sqfs")
	out, err := exec.Command("mksquashfs", rootfs, img, "-noappend", "-quiet", "-no-progress", "-all-root").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return img, os.Chmod(dir, 0o755)
}

// hostUser describes the test's user the way the CLI does.
func hostUser(t *testing.T) container.User {
	t.Helper()
	return CurrentUser()
}

// launch describes one test container.
type launch struct {
	config  imagemeta.Config
	env     []string // env specs
	mounts  []string // --mount values
	opts    container.Options
	hostEnv []string
	cwd     string // host cwd; default: the image dir
	stdin   string
}

type result struct {
	code           int
	err            error
	stdout, stderr string
}

func (l launch) spec(t *testing.T) *container.Spec {
	t.Helper()
	layer := container.Layer{Origin: container.OriginCommandLine}
	for _, e := range l.env {
		s, err := envspec.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		layer.Env = append(layer.Env, s)
	}
	for _, m := range l.mounts {
		ms, err := mountspec.ParseList(m)
		if err != nil {
			t.Fatal(err)
		}
		layer.Mounts = append(layer.Mounts, ms...)
	}
	cwd := l.cwd
	if cwd == "" {
		cwd = "/"
	}
	in := container.Input{
		Image:   container.Image{Ref: "busybox", Squashfs: testImage(t), Config: l.config},
		Host:    container.Host{Env: l.hostEnv, Cwd: cwd, User: hostUser(t)},
		Layers:  []container.Layer{layer},
		Options: l.opts,
	}
	spec, err := container.Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func (l launch) run(t *testing.T) result {
	t.Helper()
	return runSpec(t, l.spec(t), l.stdin)
}

func runSpec(t *testing.T, spec *container.Spec, stdin string) result {
	t.Helper()
	return runSpecCtx(context.Background(), t, spec, stdin)
}

func runSpecCtx(ctx context.Context, t *testing.T, spec *container.Spec, stdin string) result {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte(stdin), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string]*os.File{}
	for _, n := range []string{"in", "out", "err"} {
		f, err := os.OpenFile(filepath.Join(dir, n), os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[n] = f
	}
	code, err := Run(ctx, spec, Options{Stdin: files["in"], Stdout: files["out"], Stderr: files["err"], InitPath: "/proc/self/exe", InitArgs: []string{containerinit.InitArg}, Images: sqfuse.InProcess{}})
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "err"))
	return result{code: code, err: err, stdout: string(out), stderr: string(errOut)}
}

// sh runs a busybox shell command in the default test container.
func sh(t *testing.T, script string) result {
	t.Helper()
	return launch{opts: container.Options{Args: []string{"sh", "-c", script}}}.run(t)
}

func (r result) mustSucceed(t *testing.T) string {
	t.Helper()
	if r.err != nil || r.code != 0 {
		t.Fatalf("container failed: code %d, err %v\nstdout: %s\nstderr: %s", r.code, r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

func lineOf(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(strings.TrimPrefix(l, prefix))
		}
	}
	return ""
}
