package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/testutil"
)

var goodLayer = []tarEntry{{name: "bin/", typ: '5', mode: 0o755}, {name: "etc/hello", body: "hello\n"}}

// TestImportHostileArchives: each broken or hostile archive gives one line
// naming the problem, a non-zero status, and leaves the repository as it was.
func TestImportHostileArchives(t *testing.T) {
	requireHarness(t)
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
		return out.Bytes()
	}
	good := buildTar(t, goodLayer)
	cases := []struct {
		name   string
		layers [][]byte
		mutate func(map[string][]byte, *[]map[string]any)
		raw    []byte // the whole file, instead of an archive
		want   string // in the one stderr line
	}{
		{name: "dotdot", layers: [][]byte{buildTar(t, []tarEntry{{name: "a/../../evil", body: "x"}})}, want: "evil"},
		{name: "absolute", layers: [][]byte{buildTar(t, []tarEntry{{name: "/etc/evil", body: "x"}})}, want: "/etc/evil"},
		{name: "symlink-escape", layers: [][]byte{buildTar(t, []tarEntry{{name: "a/link", typ: '2', link: "../../../etc/shadow"}})}, want: "a/link"},
		{name: "hardlink-escape", layers: [][]byte{buildTar(t, []tarEntry{{name: "hl", typ: '1', link: "../../etc/shadow"}})}, want: "hl"},
		{name: "digest-mismatch", layers: [][]byte{good}, mutate: func(f map[string][]byte, _ *[]map[string]any) {
			for n := range f {
				if strings.HasSuffix(n, ".tar") {
					f[n] = buildTar(t, []tarEntry{{name: "other", body: "tampered"}})
				}
			}
		}, want: "digest"},
		{name: "missing-blob", layers: [][]byte{good}, mutate: func(f map[string][]byte, _ *[]map[string]any) {
			for n := range f {
				if strings.HasSuffix(n, ".tar") {
					delete(f, n)
				}
			}
		}, want: ".tar"},
		{name: "truncated-gzip", layers: [][]byte{gz(good)[:60]}, want: "layer"},
		{name: "not-a-tar", raw: []byte(strings.Repeat("this is not a tar archive\n", 40)), want: "tar"},
		{name: "empty", raw: []byte{}, want: "empty"},
		{name: "two-images", layers: [][]byte{good}, mutate: func(_ map[string][]byte, m *[]map[string]any) {
			second := map[string]any{}
			for k, v := range (*m)[0] {
				second[k] = v
			}
			second["RepoTags"] = []string{"other/img:2"}
			*m = append(*m, second)
		}, want: "other/img:2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := newUserEnv(t)
			u.mustPcocc("image", "list") // creates the repository
			dir := t.TempDir()
			var path string
			if c.raw != nil {
				path = filepath.Join(dir, "archive.tar")
				os.WriteFile(path, c.raw, 0o644)
			} else {
				path = dockerArchive(t, dir, c.layers, c.mutate)
			}
			out, errs, code := u.pcocc("image", "import", "docker-archive:"+path, "img")
			if code == 0 {
				t.Fatalf("import succeeded: %s", out)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if len(lines) != 1 || !strings.Contains(errs, c.want) {
				t.Fatalf("stderr %q: want one line mentioning %q", errs, c.want)
			}
			u.assertRepoClean()
		})
	}
}

// bigArchive is a docker-archive big enough for an import to take a while.
func bigArchive(t *testing.T) string {
	rng := rand.New(rand.NewSource(1))
	var layers [][]byte
	for l := 0; l < 3; l++ {
		var entries []tarEntry
		for i := 0; i < 6; i++ {
			b := make([]byte, 8<<20)
			rng.Read(b)
			entries = append(entries, tarEntry{name: fmt.Sprintf("data/l%d-f%d", l, i), body: string(b)})
		}
		layers = append(layers, buildTar(t, entries))
	}
	return dockerArchive(t, t.TempDir(), layers, nil)
}

// TestImportInterrupted kills imports with SIGINT, SIGTERM and SIGKILL at
// several moments: the repository is as before, and the next command that
// changes it removes what a SIGKILL left.
func TestImportInterrupted(t *testing.T) {
	requireHarness(t)
	archive := bigArchive(t)
	u := newUserEnv(t)
	u.mustPcocc("image", "import", "docker-archive:"+archive, "keep")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		for _, delay := range []time.Duration{5, 50, 150, 400} {
			cmd := u.command("image", "import", "docker-archive:"+archive, "victim")
			stderr, err := signalAfter(t, cmd, sig, delay*time.Millisecond)
			published := strings.Contains(u.mustPcocc("image", "list"), "victim")
			switch {
			case published && err != nil && sig != syscall.SIGKILL && cmd.ProcessState.Exited():
				t.Errorf("import stopped by %v after %v: it published victim but exited %d: %q", sig, delay*time.Millisecond, cmd.ProcessState.ExitCode(), stderr)
			case published:
				// It published before the signal took effect (or a
				// SIGKILL came between the publish, atomic, and the
				// exit): undo it and go on.
				u.mustPcocc("image", "delete", "victim")
			}
			checkInterruptedImport(t, sig, cmd, stderr)
			// The next command that changes the repository cleans up
			// (commands that only read it do not: docs/repository.md).
			u.mustPcocc("image", "copy", "keep", "scratch")
			u.mustPcocc("image", "delete", "scratch")
			u.assertRepoClean("keep")
		}
	}
	out := u.mustPcocc("image", "repo", "gc")
	if !strings.Contains(out, "removed 0 unused blobs") {
		t.Errorf("gc after cleanup still found leftovers: %s", out)
	}
}

// signalAfter starts cmd, sends it sig after delay and waits for it; it
// returns what cmd wrote to stderr and how it ended.
func signalAfter(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, delay time.Duration) (string, error) {
	t.Helper()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Signal(sig)
	err := cmd.Wait()
	return errb.String(), err
}

// checkInterruptedImport: an import that SIGINT or SIGTERM stopped says so
// in one line, "interrupted: nothing was imported", with status 128+N (not
// "context canceled"). A signal that came before pcocc could catch it, or
// after it finished, proves nothing.
func checkInterruptedImport(t *testing.T, sig syscall.Signal, cmd *exec.Cmd, stderr string) {
	t.Helper()
	st := cmd.ProcessState
	if sig == syscall.SIGKILL || !st.Exited() || st.ExitCode() == 0 {
		return
	}
	want := "pcocc: interrupted: nothing was imported\n"
	if st.ExitCode() != 128+int(sig) || !strings.HasSuffix(stderr, want) || strings.Contains(stderr, "context canceled") {
		t.Errorf("import stopped by %v: exit %d, stderr %q; want %d and %q", sig, st.ExitCode(), stderr, 128+int(sig), want)
	}
}

// TestImportConcurrent: 8 concurrent imports and deletes in one repository
// lose nothing and corrupt nothing.
func TestImportConcurrent(t *testing.T) {
	requireHarness(t)
	u := newUserEnv(t)
	archive := dockerArchive(t, t.TempDir(), [][]byte{buildTar(t, goodLayer)}, nil)
	u.mustPcocc("image", "import", "docker-archive:"+archive, "base")
	var wg sync.WaitGroup
	failures := make(chan string, 32)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			if _, errs, code := u.pcocc("image", "import", "docker-archive:"+archive, fmt.Sprintf("img%d", i)); code != 0 {
				failures <- errs
			}
		}(i)
		go func() {
			defer wg.Done()
			u.pcocc("image", "import", "-f", "docker-archive:"+archive, "churn")
			u.pcocc("image", "delete", "churn")
		}()
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	u.pcocc("image", "delete", "churn")
	want := []string{"base"}
	for i := 0; i < 8; i++ {
		want = append(want, fmt.Sprintf("img%d", i))
	}
	u.assertRepoClean(want...)
	_, errs, code := u.pcocc("image", "import", "docker-archive:"+archive, "img0")
	if code == 0 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "-f") {
		t.Fatalf("import over an existing name: exit %d, stderr %q", code, errs)
	}
}

// TestImportMissingTool: without tar2sqfs, one line naming its package.
func TestImportMissingTool(t *testing.T) {
	requireHarness(t)
	u := newUserEnv(t)
	bin := testutil.BinDir()
	u.env = append(u.env, "PATH="+bin) // no /usr/bin: no tar2sqfs
	archive := dockerArchive(t, t.TempDir(), [][]byte{buildTar(t, goodLayer)}, nil)
	_, errs, code := u.pcocc("image", "import", "docker-archive:"+archive, "img")
	if code == 0 || !strings.Contains(errs, "squashfs-tools-ng") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q: want one line naming squashfs-tools-ng", code, errs)
	}
	u.assertRepoClean()
}

// TestImportDiskFull: an import that fills the disk fails with a clear line
// and leaves the repository as it was. The small file system is a tmpfs
// mounted in a private user+mount namespace, so this needs no root.
func TestImportDiskFull(t *testing.T) {
	requireHarness(t)
	u := newUserEnv(t)
	archive := bigArchive(t)
	small := dockerArchive(t, t.TempDir(), [][]byte{buildTar(t, goodLayer)}, nil)
	bin := testutil.BinDir()
	script := `set -u
repo=$HOME/.local/share/pcocc
mkdir -p "$repo" && mount -t tmpfs -o size=12m tmpfs "$repo" || exit 99
P=` + bin + `/pcocc
$P image import docker-archive:` + small + ` keep >/dev/null || exit 98
$P image import docker-archive:` + archive + ` big 2>"$repo/err"; echo "status $?"
head -c 300 "$repo/err"; echo "lines $(wc -l <"$repo/err")"
$P image list >/dev/null
echo "tmp: $(ls "$repo/images/tmp")"
echo "images: $(ls "$repo/images/images")"
echo "store: $(ls "$repo/images/store" | wc -l)"
`
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script)
	cmd.Env = u.env
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code == 99 {
		t.Skipf("cannot mount a tmpfs in a user namespace: %s", out)
	} else if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := string(out)
	assertContains(t, "the output", s, "status 1", "no space left on device", "lines 1", "tmp: \n", "images: keep\n", "store: 1\n")
}
