package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The file is replaced whole, with the mode asked for (whatever the umask),
// and a failed write leaves the old file and no temporary file.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := WriteBytes(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, 0o600, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return errors.New("boom")
	}); err == nil {
		t.Error("a failed write returned nil")
	}
	b, err := os.ReadFile(p)
	st, _ := os.Stat(p)
	if err != nil || string(b) != "one" || st.Mode().Perm() != 0o640 {
		t.Errorf("after a failed write: %q %v %v", b, st.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left in the directory: %v", ents)
	}
	if err := WriteBytes(p, []byte("two"), 0o604); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	st, _ = os.Stat(p)
	if string(b) != "two" || st.Mode().Perm() != 0o604 {
		t.Errorf("replaced: %q %v", b, st.Mode())
	}
}
