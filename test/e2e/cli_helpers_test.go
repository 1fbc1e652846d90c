package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/testutil"
)

// userEnv is a fresh user environment for Go-driven end-to-end tests: its own
// HOME (and so its own user repository) and an empty system config dir.
type userEnv struct {
	t    *testing.T
	home string
	env  []string
}

func newUserEnv(t *testing.T) *userEnv {
	t.Helper()
	dir := t.TempDir()
	u := &userEnv{t: t, home: filepath.Join(dir, "home")}
	sys := filepath.Join(dir, "etc-pcocc")
	for _, d := range []string{u.home, sys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := testutil.BinDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "PCOCC_") {
			u.env = append(u.env, kv)
		}
	}
	u.env = append(u.env, "HOME="+u.home, "PCOCC_SYSTEM_CONF_DIR="+sys,
		"PATH="+bin+":"+os.Getenv("PATH"))
	return u
}

// repoDir is the user repository's directory.
func (u *userEnv) repoDir() string { return filepath.Join(u.home, ".local/share/pcocc/images") }

func (u *userEnv) command(args ...string) *exec.Cmd {
	bin := testutil.BinDir()
	cmd := exec.Command(filepath.Join(bin, "pcocc"), args...)
	cmd.Env = u.env // when PATH appears twice, exec uses the last one
	return cmd
}

// pcocc runs the binary and returns stdout, stderr and the exit status.
func (u *userEnv) pcocc(args ...string) (string, string, int) {
	cmd := u.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		u.t.Fatalf("running pcocc %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// mustPcocc runs the binary and fails the test on a non-zero status.
func (u *userEnv) mustPcocc(args ...string) string {
	u.t.Helper()
	out, errs, code := u.pcocc(args...)
	if code != 0 {
		u.t.Fatalf("pcocc %v: exit %d: %s", args, code, errs)
	}
	return out
}

// tarEntry is one member of a layer built in a test.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func buildTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return b.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// dockerArchive writes a docker-archive (skopeo layout: <hex>.tar layers)
// holding one image made of the given layers, and returns its path.
// mutate may change the archive's members before they are written.
func dockerArchive(t *testing.T, dir string, layers [][]byte, mutate func(files map[string][]byte, manifest *[]map[string]any)) string {
	t.Helper()
	files := map[string][]byte{}
	var diffIDs, names []string
	for _, l := range layers {
		d := sha(l)
		diffIDs = append(diffIDs, d)
		n := strings.TrimPrefix(d, "sha256:") + ".tar"
		names = append(names, n)
		files[n] = l
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/sh"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cfgName := strings.TrimPrefix(sha(cfg), "sha256:") + ".json"
	files[cfgName] = cfg
	manifest := []map[string]any{{"Config": cfgName, "RepoTags": []string{"test/img:1"}, "Layers": names}}
	if mutate != nil {
		mutate(files, &manifest)
	}
	files["manifest.json"], _ = json.Marshal(manifest)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range sortedNames(files) {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		tw.Write(files[n])
	}
	tw.Close()
	p := filepath.Join(dir, "archive.tar")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sortedNames(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// assertRepoClean checks that the user repository holds exactly the named
// images and no leftovers (temporary dirs, unreferenced versions).
func (u *userEnv) assertRepoClean(images ...string) {
	u.t.Helper()
	dir := u.repoDir()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if len(images) > 0 {
			u.t.Fatalf("no repository, want images %v", images)
		}
		return
	}
	names := readNames(filepath.Join(dir, "images"))
	if strings.Join(names, ",") != strings.Join(images, ",") {
		u.t.Errorf("images %v, want %v", names, images)
	}
	if tmp := readNames(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		u.t.Errorf("leftover tmp dirs: %v", tmp)
	}
	if st := readNames(filepath.Join(dir, "store")); len(st) != len(images) {
		u.t.Errorf("%d store dirs for %d images", len(st), len(images))
	}
}

func readNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// assertContains reports each of wants that s (what names it) lacks.
func assertContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(s, want) {
			t.Errorf("%s lacks %q:\n%s", what, want, s)
		}
	}
}
