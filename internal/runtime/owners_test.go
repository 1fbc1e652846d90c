package runtime

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/testutil"
)

// foreignEtcImage is a squashfs whose /etc and /etc/passwd belong to uid
// 4242, an image user that is neither root nor the caller: such an owner is
// not mapped in the container's user namespace, so /etc cannot be written,
// even by the namespace's root.
func foreignEtcImage(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox")
	}
	body, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	add := func(h *tar.Header, data []byte) {
		h.Size = int64(len(data))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, body)
	for _, a := range []string{"sh", "id", "cat"} {
		add(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
	}
	add(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 4242, Gid: 4242}, nil)
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 4242, Gid: 4242},
		[]byte("root:x:0:0:root:/root:/bin/sh\n"))
	tw.Close()
	return testutil.Squashfs(t, b.Bytes())
}

// TestForeignOwnedEtc: the container still starts and knows the user; what
// cannot be created (/etc/group, the host's /etc/hosts) is skipped with a
// warning instead of failing the launch.
func TestForeignOwnedEtc(t *testing.T) {
	spec := launch{opts: container.Options{Args: []string{"sh", "-c", "id -un; cat /etc/passwd"}}}.spec(t)
	spec.Rootfs = foreignEtcImage(t)
	r := runSpec(t, spec, "")
	out := r.mustSucceed(t)
	name := hostUser(t).Name
	if os.Geteuid() == 0 {
		// Root's program runs as nobody (docs/running.md), whom this
		// image's passwd does not list.
		name = "65534"
	}
	if !strings.HasPrefix(out, name+"\n") || !strings.Contains(out, "root:x:0:0:root:/root:/bin/sh") {
		t.Fatalf("stdout %q: want the user's name, and the image's passwd lines kept", out)
	}
}
