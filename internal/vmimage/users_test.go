package vmimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/testutil"
)

// helperEnv makes the test binary, run as another user, do one operation
// on a repository instead of running the tests (see TestMain).
const helperEnv = "VMIMAGE_TEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		fmt.Println(helper(h))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helper runs "OP:REPO:ARG" and returns "ok" or the error.
func helper(h string) string {
	parts := strings.SplitN(h, ":", 3)
	r, err := repo.Open("shared", parts[1])
	if err != nil {
		return err.Error()
	}
	ctx := context.Background()
	switch parts[0] {
	case "export":
		var v *Revision
		if v, err = Resolve(r, "deb", ""); err == nil {
			err = Export(ctx, v, parts[2], "raw")
		}
	case "import":
		_, err = Import(ctx, r, "mine", parts[2], "", false)
	case "delete":
		err = Delete(r, "deb", "0")
	}
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// TestSharedRepoUsers: tester2 owns a repository tester reads. tester
// exports its VM image but cannot change it; when tester2 points a layer
// at a file of tester's, tester's use of the image is refused.
func TestSharedRepoUsers(t *testing.T) {
	tester, tester2 := testutil.UserID(t, testutil.Tester), testutil.UserID(t, testutil.Tester2)
	dir, bin := testutil.SharedTestBinary(t, "vmimage.test")
	// tester2's repository, with one VM image.
	rp := filepath.Join(dir, "repo")
	r, _ := repo.Open("shared", rp)
	v := mustImport(t, r, "deb")
	chownAll(t, rp, tester2)
	mine := filepath.Join(dir, "tester")
	os.Mkdir(mine, 0o700)
	disk := rawDisk(t, mine, "disk.raw", mib)
	chownAll(t, mine, tester)

	as := func(op, arg string) string {
		out, err := testutil.AsUser(testutil.Tester, []string{helperEnv + "=" + op + ":" + rp + ":" + arg}, bin).CombinedOutput()
		if err != nil {
			t.Fatalf("%s as tester: %v\n%s", op, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out := as("export", filepath.Join(mine, "out.raw")); out != "ok" {
		t.Errorf("export by a reader: %s", out)
	}
	if out := as("import", disk); !strings.Contains(out, "read-only repository") {
		t.Errorf("import by a reader: %s", out)
	}
	if out := as("delete", ""); !strings.Contains(out, "read-only repository") {
		t.Errorf("delete by a reader: %s", out)
	}
	// tester2 points the image's layer at tester's key (root writes it for
	// tester2, who could as the owner).
	key := filepath.Join(mine, "id_ed25519")
	os.WriteFile(key, []byte("PRIVATE KEY"), 0o600)
	os.Chown(key, tester, tester)
	top, _ := v.Path()
	run(t, "qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", key, top)
	out := filepath.Join(mine, "stolen.raw")
	if got := as("export", out); !strings.Contains(got, "its backing file is") {
		t.Errorf("export of a layer backed by the reader's key: %s", got)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the export was written")
	}
}

func chownAll(t *testing.T, dir string, uid int) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			os.Lchown(p, uid, uid)
		}
		return nil
	})
}
