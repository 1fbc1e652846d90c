package check

import (
	"context"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/testutil"
)

func TestProbeForReal(t *testing.T) {
	testutil.NeedUserns(t)
	ctx := context.Background()
	for _, mode := range []string{"userns", "overlay"} {
		if err := Probe(ctx, mode); err != nil {
			t.Errorf("Probe(%s): %v", mode, err)
		}
	}
	if testutil.FUSEUsable() == nil {
		if err := Probe(ctx, "fuse", "/dev/fuse"); err != nil {
			t.Errorf("Probe(fuse): %v", err)
		}
	}
}

func TestProbeReportsTheFailingStep(t *testing.T) {
	testutil.NeedUserns(t)
	err := Probe(context.Background(), "fuse", "/nonexistent/fuse")
	if err == nil || !strings.Contains(err.Error(), "opening /nonexistent/fuse in a user namespace") {
		t.Errorf("got %v, want the open error", err)
	}
	if err := Probe(context.Background(), "bogus"); err == nil || !strings.Contains(err.Error(), `unknown mode "bogus"`) {
		t.Errorf("got %v, want unknown mode", err)
	}
}

func TestInitialUserNS(t *testing.T) {
	for m, want := range map[string]bool{
		"         0          0 4294967295\n": true,
		"         0       1001          1\n": false,
		"":                                   true, // unreadable or odd: refuse
		"0 0 1\n1 100000 65536\n":            true,
	} {
		if got := initialUserNS(m); got != want {
			t.Errorf("initialUserNS(%q) = %v, want %v", m, got, want)
		}
	}
}
