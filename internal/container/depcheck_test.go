package container

import (
	"os/exec"
	"strings"
	"testing"
)

// Planning must stay pure: no system calls, no executor.
func TestPlanningHasNoSystemDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "golang.org/x/sys/unix",
			strings.HasPrefix(dep, "github.com/pcocc/pcocc/internal/runtime"),
			strings.HasPrefix(dep, "github.com/pcocc/pcocc/internal/squashfs"),
			dep == "os/exec":
			t.Errorf("internal/container depends on %s", dep)
		}
	}
}
