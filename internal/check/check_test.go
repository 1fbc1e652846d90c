package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestGoodHostPasses(t *testing.T) {
	rs := Run(context.Background(), goodHost(t).env())
	for _, r := range rs {
		if r.Status != OK {
			t.Errorf("%s: %s: %s (fix: %s)", r.Item, r.Status, r.Detail, r.Fix)
		}
	}
	if Failed(rs) {
		t.Error("Failed() is true on a good host")
	}
	m := byItem(t, rs)
	for item, want := range map[string]string{
		"program tar2sqfs":      "version 1.2.0",
		"program squashfuse_ll": "version 0.1.104",
		"program fusermount3":   "version 3.14.0",
		itemUserns:              "user.max_user_namespaces=96365",
		"kernel":                "6.18.44",
		"file systems":          "overlay, fuse, squashfs",
		"repository user":       "(created at first use)",
	} {
		if !strings.Contains(m[item].Detail, want) {
			t.Errorf("%s: detail %q does not contain %q", item, m[item].Detail, want)
		}
	}
}

// Each case breaks one thing of a good host and names the item that must
// report it, its status, and words the detail and fix must hold.
func TestBrokenHost(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/dev/fuse", Err: fs.ErrPermission}
	cases := []struct {
		name   string
		breakf func(h *fakeHost)
		item   string
		status Status
		detail string
		fix    string
	}{
		{"userns denied by max_user_namespaces", func(h *fakeHost) {
			h.files[maxUserNS] = "0\n"
			h.probe = map[string]error{"userns": errors.New("operation not permitted")}
		}, itemUserns, Error, "user.max_user_namespaces=0", "sysctl -w user.max_user_namespaces="},
		{"userns denied by debian knob", func(h *fakeHost) {
			h.files[usernsClone] = "0"
			h.probe = map[string]error{"userns": errors.New("operation not permitted")}
		}, itemUserns, Error, "kernel.unprivileged_userns_clone=0", "kernel.unprivileged_userns_clone=1"},
		{"userns denied by apparmor", func(h *fakeHost) {
			h.files[apparmorUserns] = "1"
			h.probe = map[string]error{"userns": errors.New("operation not permitted")}
		}, itemUserns, Error, "operation not permitted", "apparmor_restrict_unprivileged_userns=0"},
		{"userns failing skips the mount probes", func(h *fakeHost) {
			h.probe = map[string]error{"userns": errors.New("no")}
		}, itemOverlayNS, Warning, "not tested", "enable unprivileged user namespaces"},
		{"fuse device missing", func(h *fakeHost) { h.devErr = fs.ErrNotExist },
			itemFuseDev, Error, "does not exist", "fuse3"},
		{"fuse device not accessible", func(h *fakeHost) { h.devErr = denied },
			itemFuseDev, Error, "permission denied", "chmod 0666 /dev/fuse"},
		{"fuse device not accessible skips fuse probe", func(h *fakeHost) { h.devErr = denied },
			itemFuseNS, Warning, "not tested", "chmod 0666"},
		{"overlay in userns refused", func(h *fakeHost) {
			h.probe = map[string]error{"overlay": errors.New("mounting overlayfs in a user namespace: operation not permitted")}
		}, itemOverlayNS, Error, "operation not permitted", "5.11"},
		{"old kernel", func(h *fakeHost) { h.kernel = "4.18.0-513.el8.x86_64" },
			"kernel", Error, "older than 5.11", "upgrade"},
		{"5.10 is too old", func(h *fakeHost) { h.kernel = "5.10.0-28-amd64" },
			"kernel", Error, "5.10.0", "5.11"},
		{"overlay not loaded", func(h *fakeHost) { h.files["/proc/filesystems"] = "nodev\tfuse\n\tsquashfs\n" },
			"file systems", Warning, "overlay", "modprobe overlay"},
		{"no squashfuse_ll is a warning", func(h *fakeHost) { delete(h.programs, "squashfuse_ll") },
			"program squashfuse_ll", Warning, "optional", `"squashfuse"`},
		{"no squashfuse_ll when chosen", func(h *fakeHost) { delete(h.programs, "squashfuse_ll"); h.server = "squashfuse_ll" },
			"program squashfuse_ll", Error, "not found on PATH", `"squashfuse"`},
		{"no tar2sqfs", func(h *fakeHost) { delete(h.programs, "tar2sqfs") },
			"program tar2sqfs", Error, "not found", `"squashfs-tools-ng"`},
		{"no fusermount3", func(h *fakeHost) { delete(h.programs, "fusermount3") },
			"program fusermount3", Error, "not found", `"fuse3"`},
		{"no newuidmap is a warning", func(h *fakeHost) { delete(h.programs, "newuidmap") },
			"program newuidmap", Warning, "optional", `"uidmap"`},
		{"no srun", func(h *fakeHost) { delete(h.programs, "srun") },
			"Slurm plugin", Warning, "not in a Slurm environment", "slurm-client"},
		{"srun without configuration", func(h *fakeHost) {
			h.programs["srun"] = "srun: error: fetch_config: DNS SRV lookup failed\nsrun: fatal: Could not establish a configuration source\n"
			h.outErr = map[string]error{"srun": errors.New("exit status 1")}
		}, "Slurm plugin", Warning, "Could not establish a configuration source", "SLURM_CONF"},
		{"srun without the plugin", func(h *fakeHost) { h.programs["srun"] = "Usage: srun [OPTIONS]\n  --cpu-bind=...\n" },
			"Slurm plugin", Warning, "not loaded", "plugstack.conf"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := goodHost(t)
			c.breakf(&h)
			rs := Run(context.Background(), h.env())
			r, found := byItem(t, rs)[c.item]
			if !found {
				t.Fatalf("no item %q in %v", c.item, rs)
			}
			if r.Status != c.status || !strings.Contains(r.Detail, c.detail) || !strings.Contains(r.Fix, c.fix) {
				t.Errorf("got %s %q (fix %q), want %s with %q (fix with %q)", r.Status, r.Detail, r.Fix, c.status, c.detail, c.fix)
			}
			// Skipped probes are warnings, but what made them skip is an error.
			if Failed(rs) != (c.status == Error || strings.Contains(c.name, "skips")) {
				t.Errorf("Failed() = %v with a %s item", Failed(rs), c.status)
			}
		})
	}
}

func TestConfigurationErrorsHavePositions(t *testing.T) {
	h := goodHost(t)
	h.cfg = loadConfig(t, map[string]string{
		"containers.yaml": "modules:\n  m:\n    mount: []\n",
	})
	r := byItem(t, Configuration(context.Background(), h.env()))
	c := r["configuration containers"]
	if c.Status != Error || !strings.Contains(c.Detail, "containers.yaml:3:5:") || !strings.Contains(c.Detail, `"mounts"`) {
		t.Errorf("containers: got %s %q, want an error at containers.yaml:3:5 suggesting \"mounts\"", c.Status, c.Detail)
	}
	if rp := r["configuration repositories"]; rp.Status != OK {
		t.Errorf("a broken containers.yaml must leave repositories ok, got %+v", rp)
	}
}

func TestRepositories(t *testing.T) {
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	h := goodHost(t)
	h.cfg = loadConfig(t, map[string]string{"repositories.yaml": "repositories:\n" +
		"  shared: {path: " + shared + "}\n" +
		"  orphan: {path: " + filepath.Join(dir, "no", "such") + "}\n" +
		"  mine: {path: $TESTDIR/mine}\n" +
		"  elsewhere: {path: $PCOCC_TEST_UNSET/images}\n"})
	h.readOnly = map[string]bool{shared: true}
	r := byItem(t, Repositories(context.Background(), h.env()))
	want := map[string]struct {
		status Status
		detail string
	}{
		"repository shared":    {OK, shared + " (read-only)"},
		"repository orphan":    {Warning, `repository orphan is unavailable here: parent directory "` + filepath.Join(dir, "no") + `"`},
		"repository mine":      {OK, "(created at first use)"},
		"repository user":      {OK, ""},
		"repository elsewhere": {Warning, "unavailable here: path \"$PCOCC_TEST_UNSET/images\": $PCOCC_TEST_UNSET is not set"},
	}
	for item, w := range want {
		if r[item].Status != w.status || !strings.Contains(r[item].Detail, w.detail) {
			t.Errorf("%s: got %+v, want %s with %q", item, r[item], w.status, w.detail)
		}
	}
	if !strings.Contains(r["repository orphan"].Fix, "repositories.yaml:3:3") {
		t.Errorf("orphan: fix %q does not name the definition", r["repository orphan"].Fix)
	}
	if Failed(slices.Collect(maps.Values(r))) {
		t.Error("an unavailable shared repository must not fail the check")
	}
}

func TestReadOnlyUserRepositoryIsAnError(t *testing.T) {
	h := goodHost(t)
	repos, _ := h.cfg.Repositories()
	user := repos[0].Path
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	h.readOnly = map[string]bool{user: true}
	r := byItem(t, Repositories(context.Background(), h.env()))["repository user"]
	if r.Status != Error || !strings.Contains(r.Fix, "chmod u+w "+user) {
		t.Errorf("got %+v, want an error with fix chmod u+w", r)
	}
}

func TestOutputFormats(t *testing.T) {
	rs := []Result{ok("a", "fine"), fail("b", "broken\nsecond line", "mend it")}
	var text bytes.Buffer
	if err := WriteText(&text, rs); err != nil {
		t.Fatal(err)
	}
	want := "ok       a: fine\nerror    b: broken\n         second line; fix: mend it\n"
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, rs); err != nil {
		t.Fatal(err)
	}
	var back []map[string]string
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || back[1]["item"] != "b" || back[1]["status"] != "error" || back[1]["fix"] != "mend it" || back[0]["fix"] != "" {
		t.Errorf("json: %s", js.String())
	}
}

func TestParseRelease(t *testing.T) {
	for rel, want := range map[string][2]int{"6.1.0-13-amd64": {6, 1}, "5.11": {5, 11}, "5.15rc2": {5, 15}} {
		if got, ok := parseRelease(rel); !ok || got != want {
			t.Errorf("parseRelease(%q) = %v, %v", rel, got, ok)
		}
	}
	if _, ok := parseRelease("garbage"); ok {
		t.Error("parseRelease(garbage) is ok")
	}
}

// TestImageCache: the node cache of unpacked images, item by item.
func TestImageCache(t *testing.T) {
	ctx := context.Background()
	e := fakeHost{}.env()
	e.UnpackMax = func() (int64, error) { return 512, nil }
	e.UnpackCache = func() (string, bool, int64, error) { return "/var/tmp/pcocc-7/unpacked", true, 3 << 30, nil }
	rs := ImageCache(ctx, e)
	if len(rs) != 1 || rs[0].Status != OK || rs[0].Detail != "/var/tmp/pcocc-7/unpacked: 3072 MiB free; images of up to 512 MiB are unpacked there" {
		t.Errorf("usable cache: %+v", rs)
	}
	e.UnpackCache = func() (string, bool, int64, error) { return "/c", false, 1 << 20, nil }
	if rs := ImageCache(ctx, e); rs[0].Detail != "/c (created at first use): 1 MiB free; images of up to 512 MiB are unpacked there" {
		t.Errorf("cache to come: %+v", rs)
	}
	e.FUSEServer = "unpack"
	if rs := ImageCache(ctx, e); !strings.HasSuffix(rs[0].Detail, "every image is unpacked there") {
		t.Errorf("unpack: %+v", rs)
	}
	e.FUSEServer = "sqfuse"
	if rs := ImageCache(ctx, e); rs[0].Status != OK || rs[0].Detail != "not used (PCOCC_SQUASHFS_MOUNT=sqfuse)" {
		t.Errorf("sqfuse: %+v", rs)
	}
	e.FUSEServer = ""
	e.UnpackCache = func() (string, bool, int64, error) {
		return "", false, 0, errors.New("unpacked image cache /x: belongs to uid 9, not to you")
	}
	if rs := ImageCache(ctx, e); rs[0].Status != Warning || !strings.Contains(rs[0].Detail, "belongs to uid 9") ||
		!strings.Contains(rs[0].Detail, "served with FUSE instead") || rs[0].Fix == "" {
		t.Errorf("foreign cache: %+v", rs)
	}
	e.UnpackMax = func() (int64, error) { return 0, errors.New(`PCOCC_UNPACK_MAX_MIB="x": not a size in MiB`) }
	if rs := ImageCache(ctx, e); rs[0].Status != Error || !strings.Contains(rs[0].Detail, "PCOCC_UNPACK_MAX_MIB") {
		t.Errorf("bad maximum: %+v", rs)
	}
}

func TestHomeMount(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		want   string
	}{
		{"built-in", nil, OK, `/home/u, mounted by the default module "home" (built-in)`},
		{"home redefined", map[string]string{"containers.yaml": "modules:\n  home: {default: true}\n"}, Warning, "mounted by no default module"},
		{"home turned off", map[string]string{"containers.yaml": "modules:\n  home: {mounts: [{source: /home/u}]}\n"}, Warning, "mounted by no default module"},
		{"a parent mounted by a site module", map[string]string{"containers.yaml": "modules:\n  home: {}\n  storage:\n    default: true\n    mounts: [{source: /home}]\n"}, OK, `"storage"`},
		{"elsewhere", map[string]string{"containers.yaml": "modules:\n  home: {}\n  s:\n    default: true\n    mounts: [{source: /home/u, destination: /h}]\n"}, Warning, "mounted by no default module"},
		{"a generator may", map[string]string{"containers.yaml": "modules:\n  home: {}\n  g: {default: true, generator: /bin/true}\n"}, Warning, `unless the generator of "g" mounts it`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHost(t)
			h.cfg = loadConfig(t, tc.files)
			rs := HomeMount(context.Background(), h.env())
			if len(rs) != 1 || rs[0].Status != tc.status || !strings.Contains(rs[0].Detail, tc.want) {
				t.Fatalf("got %+v; want %s with %q", rs, tc.status, tc.want)
			}
			if tc.status != OK && !strings.Contains(rs[0].Fix, "--mount src=$HOME") {
				t.Errorf("fix %q names no way out", rs[0].Fix)
			}
		})
	}
}
