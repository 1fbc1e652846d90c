package vmrun

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTail(t *testing.T) {
	f := filepath.Join(t.TempDir(), "log")
	os.WriteFile(f, []byte("a\r\n\nb\x1b[6n\x1b[?7l\n\x07c\nd\n"), 0o600)
	if got := tail(f, 3); got != "\n  b\n  c\n  d" {
		t.Errorf("tail = %q", got)
	}
	if got := tail(filepath.Join(t.TempDir(), "none"), 3); got != "" {
		t.Errorf("tail of no file = %q", got)
	}
}
