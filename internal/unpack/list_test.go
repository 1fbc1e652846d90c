package unpack

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// List shows the entries with their source, size and state; Clean removes
// those no container holds, keeps the others, and the cache keeps working.
func TestListAndClean(t *testing.T) {
	img, other := image(t), image(t)
	cacheIn(t)
	if dir, l, err := List(); err != nil || l != nil {
		t.Fatalf("List before any unpack: %s %v %v", dir, l, err)
	}
	held, err := Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	e, err := Ensure(context.Background(), other, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	_, l, err := List()
	if err != nil || len(l) != 2 {
		t.Fatalf("List: %+v %v", l, err)
	}
	byPath := map[string]Cached{}
	for _, c := range l {
		byPath[c.Source] = c
		if c.Bytes <= 0 || c.Stale {
			t.Errorf("entry %+v: want a size and not stale", c)
		}
	}
	if !byPath[img].InUse || byPath[other].InUse {
		t.Errorf("in use: %+v", l)
	}
	// A deleted image makes its entry stale; clean --stale removes only it.
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	removed, kept, err := Clean(true)
	if err != nil || len(removed) != 1 || removed[0].Source != other || len(kept) != 0 {
		t.Fatalf("Clean(stale): removed %+v kept %+v err %v", removed, kept, err)
	}
	// Clean all: the entry in use is kept, its tree intact.
	removed, kept, err = Clean(false)
	if err != nil || len(removed) != 0 || len(kept) != 1 || kept[0].Source != img {
		t.Fatalf("Clean: removed %+v kept %+v err %v", removed, kept, err)
	}
	if _, err := os.Stat(filepath.Join(held.Dir, "ro/f")); err != nil {
		t.Fatalf("the tree in use was touched: %v", err)
	}
	held.Close()
	if removed, _, err = Clean(false); err != nil || len(removed) != 1 {
		t.Fatalf("Clean after release: %+v %v", removed, err)
	}
	if _, l, _ = List(); len(l) != 0 {
		t.Fatalf("List after clean: %+v", l)
	}
	// The next run unpacks again.
	e, err = Ensure(context.Background(), img, sqfuse.InProcess{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := os.Stat(filepath.Join(e.Dir, "ro/f")); err != nil {
		t.Fatal(err)
	}
}
