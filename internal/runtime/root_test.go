package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/testutil"
)

// TestRootHasNoPowerOverTheHost: run by root, the program must not write
// what root owns on the host. Without capabilities, uid 0 still gets the
// owner's permission bits: /proc/sys (kernel.core_pattern is a known route
// to root from an untrusted image) and root's files under the shared /tmp.
// Root's programs run as nobody. The writes put the current content back
// (or open for appending and write nothing): harmless if they succeed.
func TestRootHasNoPowerOverTheHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the root case: run as root (go test ./internal/runtime -run TestRoot)")
	}
	testutil.Need(t, "mksquashfs", "busybox")
	dir, err := os.MkdirTemp("/tmp", "pcocc-rt-root-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "root-owned")
	if err := os.WriteFile(f, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `id -u; grep CapEff /proc/self/status; cat /etc/marker
		p=$(cat /proc/sys/kernel/core_pattern)
		(printf '%s\n' "$p" > /proc/sys/kernel/core_pattern) 2>/dev/null && echo core_pattern-written
		(printf '' >> ` + f + `) 2>/dev/null && echo tmp-file-written
		true`
	out := sh(t, script).mustSucceed(t)
	if strings.Contains(out, "written") {
		t.Errorf("the program wrote the host's root files:\n%s", out)
	}
	if f := strings.Fields(out); len(f) == 0 || f[0] != "65534" {
		t.Errorf("uid %q, want 65534 (nobody)", f)
	}
	if v := lineOf(out, "CapEff:"); v != "0000000000000000" {
		t.Errorf("CapEff %s, want none", v)
	}
	if !strings.Contains(out, "image-marker") {
		t.Errorf("not in the image:\n%s", out)
	}
	if b, _ := os.ReadFile(f); string(b) != "host\n" {
		t.Errorf("root's file under /tmp now holds %q", b)
	}
}
