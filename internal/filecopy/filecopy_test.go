package filecopy

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestNewCopiesBytes(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.WriteFile(src, []byte("layer bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := New(src, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != "layer bytes" {
		t.Fatalf("dst = %q, %v", got, err)
	}
}

// An existing dst is never written through, and is left as it was.
func TestNewRefusesExistingDst(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.WriteFile(src, []byte("new"), 0o600)
	os.WriteFile(dst, []byte("old"), 0o600)
	if err := New(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if got, _ := os.ReadFile(dst); string(got) != "old" {
		t.Fatalf("dst changed to %q", got)
	}
}

// A copy that fails while reading leaves no dst behind.
func TestNewFailedCopyLeavesNoDst(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst")
	if err := New(dir, dst); err == nil { // a directory opens but does not read
		t.Fatal("copying a directory succeeded")
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dst left behind: %v", err)
	}
}

func TestNewMissingSrc(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "dst")
	if err := New(filepath.Join(dir, "none"), dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
	if _, err := os.Lstat(dst); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dst created: %v", err)
	}
}
