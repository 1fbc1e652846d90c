//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// TestDryRunImageMount: the plan says which mount a run would use for the
// image on this node and why; the Spec's own fields are still there.
func TestDryRunImageMount(t *testing.T) {
	withImages(t, programHome(t), imagemeta.Config{Cmd: []string{"c"}})
	t.Setenv("PCOCC_UNPACK_DIR", t.TempDir()+"/cache")
	for _, tc := range []struct {
		env, mode, reason string
	}{
		{"sqfuse", "sqfuse", "PCOCC_SQUASHFS_MOUNT=sqfuse"},
		{"", "unpack", "of squashfs ≤ PCOCC_UNPACK_MAX_MIB=512 (the default), unpacked on this node's disk by this run"},
	} {
		t.Setenv("PCOCC_SQUASHFS_MOUNT", tc.env)
		if os.Geteuid() == 0 {
			tc.mode, tc.reason = "kernel", "run as root"
		}
		var out, errOut bytes.Buffer
		root := newRoot("pcocc", &Globals{Stdout: &out, Stderr: &errOut})
		root.SetArgs([]string{"run", "--dry-run", "img"})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		var plan struct {
			Image      string `json:"image"`
			ImageMount struct{ Mode, Reason string }
		}
		if err := json.Unmarshal(out.Bytes(), &plan); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		m := plan.ImageMount
		if plan.Image != "img" || m.Mode != tc.mode || !strings.Contains(m.Reason, tc.reason) {
			t.Errorf("%s=%q: image %q, imageMount %+v; want mode %q, reason with %q", "PCOCC_SQUASHFS_MOUNT", tc.env, plan.Image, m, tc.mode, tc.reason)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr: %s", errOut.String())
		}
	}
}
