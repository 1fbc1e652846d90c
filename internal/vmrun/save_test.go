package vmrun

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
)

func needQEMU(t *testing.T) {
	t.Helper()
	for _, p := range []string{"qemu-system-x86_64", "qemu-img", "qemu-io"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh installs it)", p)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// Save of a running VM's disk gives a layer with only the VM's writes,
// backed by the image by a relative name: the image plus the layer read as
// the VM's disk; --full gives a standalone copy.
func TestSave(t *testing.T) {
	needQEMU(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "repo", "base.qcow2")
	os.MkdirAll(filepath.Dir(img), 0o755)
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", img, "64M")
	run(t, "qemu-io", "-c", "write -P 0x11 0 1M", img)
	jobDir := filepath.Join(dir, "job")
	os.Mkdir(jobDir, 0o700)
	v := vm.VM{Name: "vm0", Cores: 1, MemMiB: 64, Files: vm.FilesFor(jobDir, 0), Template: vm.Template{Image: img}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := MakeOverlay(ctx, v); err != nil {
		t.Fatal(err)
	}
	// What the VM wrote: 64 KiB at 4 MiB.
	run(t, "qemu-io", "-c", "write -P 0x22 4M 64k", v.Files.Overlay)
	argv := append(vm.Argv(v, vm.AccelTCG, nil), "-S")
	q := exec.Command(argv[0], argv[1:]...)
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { q.Process.Kill(); q.Wait() }()
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(v.Files.QMP); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	top := filepath.Join(dir, "repo", "top.qcow2")
	if err := Save(ctx, v.Files, top, img, false); err != nil {
		t.Fatal(err)
	}
	var info []struct {
		Filename        string `json:"filename"`
		BackingFilename string `json:"backing-filename"`
	}
	json.Unmarshal([]byte(run(t, "qemu-img", "info", "--backing-chain", "--output=json", "-U", top)), &info)
	if len(info) != 2 || info[0].BackingFilename != "base.qcow2" {
		t.Errorf("saved layer's chain: %+v", info)
	}
	if out := run(t, "qemu-img", "compare", "-U", top, v.Files.Overlay); !bytes.Contains([]byte(out), []byte("identical")) {
		t.Errorf("saved disk differs from the VM's: %s", out)
	}
	// Only the writes: the 1 MiB of the image is not in the layer.
	var extents []struct {
		Start int64 `json:"start"`
		Depth int   `json:"depth"`
		Data  bool  `json:"data"`
	}
	json.Unmarshal([]byte(run(t, "qemu-img", "map", "--output=json", "-U", top)), &extents)
	for _, e := range extents {
		if e.Data && e.Depth == 0 && e.Start < 1<<20 {
			t.Errorf("the layer holds the image's data: %+v", extents)
		}
	}
	full := filepath.Join(dir, "full.qcow2")
	if err := Save(ctx, v.Files, full, img, true); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(run(t, "qemu-img", "info", "--output=json", "-U", full)), &info)
	if out := run(t, "qemu-img", "compare", "-U", full, v.Files.Overlay); !bytes.Contains([]byte(out), []byte("identical")) {
		t.Errorf("full save differs: %s", out)
	}
	if b := run(t, "qemu-img", "info", "-U", full); bytes.Contains([]byte(b), []byte("backing file")) {
		t.Errorf("full save has a backing file:\n%s", b)
	}
}
