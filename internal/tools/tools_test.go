package tools

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	tests := []struct{ prog, pkg string }{
		{"tar2sqfs", "squashfs-tools-ng"},
		{"squashfuse_ll", "squashfuse"},
		{"fusermount3", "fuse3"},
		{"qemu-img", "qemu-utils"},
		{"qemu-system-x86_64", "qemu-system-x86"},
		{"srun", "slurm-client"},
		{"newuidmap", "uidmap"},
		{"umoci", "umoci"},
		{"some-tool", "some-tool"},
	}
	for _, tc := range tests {
		_, err := Find(tc.prog)
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Find(%q) error = %v, want ErrNotFound", tc.prog, err)
		}
		var me *MissingError
		if !errors.As(err, &me) || me.Package != tc.pkg {
			t.Errorf("Find(%q) package = %v, want %q", tc.prog, err, tc.pkg)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.prog) || !strings.Contains(msg, tc.pkg) {
			t.Errorf("Find(%q) message %q must be one line naming program and package", tc.prog, msg)
		}
	}
}

func TestFindPresent(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tar2sqfs")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	got, err := Find("tar2sqfs")
	if err != nil || got != exe {
		t.Fatalf("Find = %q, %v; want %q", got, err, exe)
	}
}
