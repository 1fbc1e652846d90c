package check

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/repo"
)

// TestMain lets the test binary serve as the re-executed probe.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ProbeVerb {
		os.Exit(ProbeMain(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// fakeHost is a host description that becomes an Env.
type fakeHost struct {
	files    map[string]string // /proc files
	devErr   error             // opening the FUSE device
	kernel   string
	probe    map[string]error  // by mode
	programs map[string]string // name -> version output; missing = not on PATH
	outErr   map[string]error  // name -> error of running it
	cfg      *config.Config
	readOnly map[string]bool // repository paths
	server   string          // PCOCC_SQUASHFS_MOUNT
}

func (h fakeHost) env() *Env {
	return &Env{
		FUSEServer: h.server,
		ReadFile: func(name string) ([]byte, error) {
			if v, ok := h.files[name]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		},
		FuseDev: "/dev/fuse",
		OpenRW:  func(string) error { return h.devErr },
		Kernel:  func() (string, error) { return h.kernel, nil },
		Probe: func(_ context.Context, mode string, _ ...string) error {
			return h.probe[mode]
		},
		LookPath: func(p string) (string, error) {
			if _, ok := h.programs[p]; ok {
				return "/usr/bin/" + p, nil
			}
			return "", errors.New("not found")
		},
		Output: func(_ context.Context, p string, _ ...string) (string, error) {
			name := filepath.Base(p)
			return h.programs[name], h.outErr[name]
		},
		Config:   h.cfg,
		Home:     testHome,
		Stat:     os.Stat,
		Writable: func(p string) bool { return !h.readOnly[p] },
		OpenRepo: func(name, path string) (*repo.Repo, error) {
			r, err := repo.Open(name, path)
			if err == nil {
				r.ReadOnly = h.readOnly[path]
			}
			return r, err
		},
	}
}

// goodHost is this project's reference machine, where every check passes.
func goodHost(t *testing.T) fakeHost {
	return fakeHost{
		files: map[string]string{
			maxUserNS:           "96365\n",
			"/proc/filesystems": "nodev\tsysfs\n\tsquashfs\nnodev\tfuse\nnodev\toverlay\n",
		},
		kernel: "6.18.44-fc-v657",
		programs: map[string]string{
			"tar2sqfs":      "tar2sqfs (squashfs-tools-ng) 1.2.0\nCopyright (c) 2019\n",
			"squashfuse_ll": "squashfuse 0.1.104 (c) 2012 Dave Vasilevsky\n\nUsage: squashfuse_ll\n",
			"fusermount3":   "fusermount3 version: 3.14.0\n",
			"newuidmap":     "",
			"srun":          "Usage: srun [OPTIONS(0)...]\n      --ctr=IMAGE  run in a container\n",
		},
		cfg: loadConfig(t, nil),
	}
}

// testHome is the fake host's $HOME (the built-in module mounts it).
const testHome = "/home/u"

// loadConfig writes files (relative name -> content) to a user
// configuration directory and loads it, with the user repository in a
// temporary directory.
func loadConfig(t *testing.T, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, "conf", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirs := config.Dirs{System: filepath.Join(dir, "none"), User: filepath.Join(dir, "conf"),
		UserRepo: filepath.Join(dir, "data", "pcocc", "images")}
	env := func(k string) string {
		switch k {
		case "TESTDIR":
			return dir
		case "HOME":
			return testHome
		}
		return ""
	}
	return config.Load(dirs, env)
}

// byItem indexes results by item, failing on duplicates.
func byItem(t *testing.T, rs []Result) map[string]Result {
	t.Helper()
	m := map[string]Result{}
	for _, r := range rs {
		if _, dup := m[r.Item]; dup {
			t.Fatalf("item %q reported twice", r.Item)
		}
		m[r.Item] = r
	}
	return m
}
