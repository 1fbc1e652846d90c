package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEtcd: the etcd client (10-14 ms of package init, grpc) is linked
// only into pcocc-vm, never into bin/pcocc (launcher) or pcocc-cli.
func TestNoEtcd(t *testing.T) {
	for _, tags := range []string{"", "pcocc_launcher"} {
		out, err := exec.Command("go", "list", "-tags", tags, "-deps", ".").Output()
		if err != nil {
			t.Skipf("go list unavailable: %v", err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps: %q", out)
		}
		for _, dep := range deps {
			if strings.HasPrefix(dep, "go.etcd.io/") || strings.HasPrefix(dep, "google.golang.org/grpc") ||
				dep == "github.com/pcocc/pcocc/internal/etcdstate" {
				t.Errorf("pcocc (tags %q) links %s: etcd belongs to pcocc-vm only", tags, dep)
			}
		}
	}
}
