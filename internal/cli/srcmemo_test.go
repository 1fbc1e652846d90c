//go:build !pcocc_launcher

package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
)

func sha(b string) digest.Digest { return digest.FromBytes([]byte(b)) }

// fileDigest reads a file once: later calls trust the memo while the file's
// identity (inode, size, mtime, ctime) is the same, and read it again when
// any of them changes.
func TestFileDigestMemo(t *testing.T) {
	dir := t.TempDir()
	memo, file := filepath.Join(dir, "memo"), filepath.Join(dir, "x.tar")
	if err := os.Mkdir(memo, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dm := digestMemo{dir: memo} // no racy window: the test rewrites within a clock tick
	if d, err := dm.fileDigest(ctx, file); err != nil || d != sha("one") {
		t.Fatalf("first digest: %q, %v", d, err)
	}
	// Forge the memo's digest: a second call that returns it has not read
	// the file.
	entries, _ := os.ReadDir(memo)
	if len(entries) != 1 {
		t.Fatalf("memo files: %d, want 1", len(entries))
	}
	mp := filepath.Join(memo, entries[0].Name())
	m, err := readMemo(mp)
	if err != nil {
		t.Fatal(err)
	}
	m.Digest = "sha256:forged"
	writeMemo(mp, m)
	if d, _ := dm.fileDigest(ctx, file); d != "sha256:forged" {
		t.Fatalf("second digest %q: the memo was not used", d)
	}
	// Same size, new bytes: the ctime (and mtime) change, the file is read.
	time.Sleep(20 * time.Millisecond) // past the clock tick (the racy window's job)
	if err := os.WriteFile(file, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, _ := dm.fileDigest(ctx, file); d != sha("two") {
		t.Fatalf("digest after a rewrite: %q, want that of the new bytes", d)
	}
	// A canceled context stops the read.
	os.Remove(mp)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dm.fileDigest(cctx, file); err == nil {
		t.Fatal("a canceled read succeeded")
	}
}
