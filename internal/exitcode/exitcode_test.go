package exitcode

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite "+CHeaderPath)

// TestCHeader keeps the SPANK plugin's codes those of the table.
func TestCHeader(t *testing.T) {
	path := filepath.Join("..", "..", CHeaderPath)
	want := CHeader()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s differs from the table: go test ./internal/exitcode -update\n--- want\n%s--- got\n%s", CHeaderPath, want, got)
	}
}

func TestOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("x"), Failure},
		{Wrap(Setup, errors.New("x")), Setup},
		{fmt.Errorf("context: %w", Wrap(NotFound, errors.New("x"))), NotFound},
		{Silent(Usage), Usage},
	}
	for _, tt := range tests {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("Of(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if Wrap(Setup, nil) != nil {
		t.Error("Wrap(code, nil) is not nil")
	}
	if got := Silent(3).Error(); got != "exit status 3" {
		t.Errorf("Silent(3).Error() = %q", got)
	}
}

// TestTableUnique: two names for one code, or one name twice, would make
// the header ambiguous.
func TestTableUnique(t *testing.T) {
	names, codes := map[string]bool{}, map[int]bool{}
	for _, e := range Table {
		if names[e.Name] || codes[e.Code] {
			t.Errorf("%s = %d repeated", e.Name, e.Code)
		}
		names[e.Name], codes[e.Code] = true, true
	}
}

// TestDocumented: every code of the table is a row of docs/running.md's
// exit status table (128 as 128+N).
func TestDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "running.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Table {
		row := fmt.Sprintf("\n| %d |", e.Code)
		if e.Code == Signaled {
			row = fmt.Sprintf("\n| %d+N |", e.Code)
		}
		if !strings.Contains(string(b), row) {
			t.Errorf("docs/running.md has no row %q for %s", strings.TrimSpace(row), e.Name)
		}
	}
}
