package vmcli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/vm"
)

func TestShares(t *testing.T) {
	mp := func(tag, path, typ string) config.VMTemplate {
		return config.VMTemplate{Name: "t", MountPoints: []config.VMMountPoint{{Tag: tag, Path: path, Type: typ}}}
	}
	dr := func(path, mmp string) config.VMTemplate {
		return config.VMTemplate{Name: "t", PersistentDrives: []config.VMDrive{{Path: path, MMP: mmp, Cache: "none"}}}
	}
	dir := t.TempDir()
	raw, qcow := filepath.Join(dir, "a.raw"), filepath.Join(dir, "b.qcow2")
	os.WriteFile(raw, make([]byte, 512), 0o600)
	os.WriteFile(qcow, append([]byte("QFI\xfb"), make([]byte, 508)...), 0o600)
	ro := filepath.Join(dir, "ro.raw")
	os.WriteFile(ro, nil, 0o400)
	for _, tc := range []struct {
		name string
		tpl  config.VMTemplate
		err  string
		want vm.Template
	}{
		{"mount", mp("data", dir, config.MountVirtioFS), "", vm.Template{Mounts: []vm.Mount{{Tag: "data", Path: dir}}}},
		{"missing dir", mp("data", dir+"/no", config.MountVirtioFS), `mount point "data": ` + dir + "/no: no such file or directory", vm.Template{}},
		{"a file", mp("data", raw, config.MountVirtioFS), raw + ": not a directory", vm.Template{}},
		{"9p", mp("data", dir, config.Mount9P), "type virtio-9p is not supported", vm.Template{}},
		{"bad tag", mp("../x", dir, config.MountVirtioFS), "the tag must be", vm.Template{}},
		{"comma", mp("data", dir+"/a,b", config.MountVirtioFS), "a path with a comma", vm.Template{}},
		{"raw drive", dr(raw, ""), "", vm.Template{Drives: []vm.Drive{{Path: raw, Format: "raw", Cache: "none"}}}},
		{"qcow2 drive", dr(qcow, "cluster"), "", vm.Template{Drives: []vm.Drive{{Path: qcow, Format: "qcow2", Cache: "none", Share: vm.ShareCluster}}}},
		{"mmp no", dr(raw, "no"), "", vm.Template{Drives: []vm.Drive{{Path: raw, Format: "raw", Cache: "none", Share: vm.ShareAny}}}},
		{"missing drive", dr(dir+"/none", ""), "persistent drive " + dir + "/none: no such file or directory", vm.Template{}},
		{"read-only drive", dr(ro, ""), "you cannot read and write it", vm.Template{}},
		{"directory drive", dr(dir, ""), "not a regular file", vm.Template{}},
	} {
		if tc.name == "read-only drive" && os.Getuid() == 0 {
			continue // root may write anything
		}
		m, d, err := shares(tc.tpl)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), `template "t"`) {
				t.Errorf("%s: error %v, want one naming the template with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(m, tc.want.Mounts) || !slices.Equal(d, tc.want.Drives) {
			t.Errorf("%s: got %+v %+v, want %+v %+v", tc.name, m, d, tc.want.Mounts, tc.want.Drives)
		}
	}
}
