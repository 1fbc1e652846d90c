package vmimage

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/pcocc/pcocc/internal/legacyrepo" // registers the original pcocc's format
	"github.com/pcocc/pcocc/internal/legacyrepo/legacytest"
	"github.com/pcocc/pcocc/internal/repo"
)

// A VM image of the original pcocc's repositories (layers backed by
// ../../data/XX/HEX) is resolved, exported, and copied into pcocc's
// layout, where its layers are renamed and its chain still reads the same.
func TestLegacyVM(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lr, err := legacytest.Create(filepath.Join(dir, "old"), 2)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDisk(t, dir, "disk.raw", 4*mib)
	base := filepath.Join(dir, "base.qcow2")
	run(t, "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, base)
	data, _ := os.ReadFile(base)
	h0, err := lr.AddBlob(data)
	if err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(dir, "top.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, top)
	run(t, "qemu-io", "-f", "qcow2", "-c", "write -P 0x62 0 4k", top)
	run(t, "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", "../../data/"+h0[:2]+"/"+h0, top)
	data, _ = os.ReadFile(top)
	h1, _ := lr.AddBlob(data)
	lr.PutRecord("centos", 0, "vm", []string{h0}, nil)
	lr.PutRecord("centos", 1, "vm", []string{h0, h1}, nil)
	old, err := repo.Open("old", lr.Dir)
	if err != nil || old.Format() == "" {
		t.Fatalf("opening the original's repository: %v", err)
	}
	v, err := Resolve(old, "centos", "")
	if err != nil || v.Rev != 1 || len(v.Layers) != 2 {
		t.Fatalf("resolve: %+v, %v", v, err)
	}
	want := append(bytes.Repeat([]byte{0x62}, 4096), readGuest(t, mustResolve(t, old, "0"), mib)[4096:]...)
	if got := readGuest(t, v, mib); !bytes.Equal(got, want) {
		t.Error("the original's chain does not read as written")
	}
	mine := newRepo(t, "user")
	c, err := Copy(ctx, v, mine, "centos", false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers[0] != v.Layers[0] || c.Layers[1] == v.Layers[1] || len(chain(t, c)) != 2 {
		t.Errorf("copy %+v: want the base linked, the top renamed", c.Layers)
	}
	if got := readGuest(t, c, mib); !bytes.Equal(got, want) {
		t.Error("the copy does not read as the original")
	}
}

func mustResolve(t *testing.T, r *repo.Repo, rev string) *Revision {
	t.Helper()
	v, err := Resolve(r, "centos", rev)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
