//go:build !pcocc_launcher

package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// TestPcoccLinksNoVMCode: pcocc's start is on the path of every container
// start; the VM runtime, QMP, network and SSH code live in pcocc-vm only.
func TestPcoccLinksNoVMCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/pcocc/pcocc/cmd/pcocc").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := []string{"/internal/vm", "/internal/qmp", "golang.org/x/crypto/ssh", "go.etcd.io/"}
	allowed := map[string]bool{"github.com/pcocc/pcocc/internal/vmimage": true} // image import/list/show
	for _, pkg := range strings.Fields(string(out)) {
		if allowed[pkg] {
			continue
		}
		for _, f := range forbidden {
			if strings.Contains(pkg, f) {
				t.Errorf("cmd/pcocc links %s: VM code belongs in cmd/pcocc-vm", pkg)
			}
		}
	}
}

// TestVMProgramMissing: without pcocc-vm next to the test binary, a VM
// command fails with one line naming the program, exit status 1.
func TestVMProgramMissing(t *testing.T) {
	_, err := libexecProgram(vmProgramName)
	if err == nil {
		t.Skip("a pcocc-vm lies next to the test binary")
	}
	if exitcode.Of(err) != exitcode.Failure || !strings.Contains(err.Error(), "pcocc-vm is not installed") || strings.Contains(err.Error(), "\n") {
		t.Errorf("got %d %q", exitcode.Of(err), err)
	}
}
