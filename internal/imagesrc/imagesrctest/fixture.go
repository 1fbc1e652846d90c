// Package imagesrctest builds real test images with the tools users have
// (umoci, skopeo, busybox-static), and compares root filesystems.
package imagesrctest

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/testutil"
)

// Fixture is a three-layer image in every layout pcocc reads, and the root
// filesystem umoci unpacks from it (the reference).
type Fixture struct {
	Layout        string // OCI layout directory, image tagged Tag
	Tag           string
	DockerArchive string // docker-archive file, image named probe/multi:1
	OCIArchive    string // oci-archive file, image tagged Tag
	Rootfs        string // `umoci unpack --rootless` of the image
}

func run(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Build makes the fixture in a temporary directory. Layer 1: busybox and a
// tree with a setuid and a setgid file, a mode-000 file, a sticky directory,
// hard links, symbolic links, unicode and spaces in names. Layer 2 (umoci
// repack): a whiteout, a file replaced, a file added. Layer 3 (written in Go,
// added with `umoci raw add-layer`): an opaque directory and a hard link to
// a file of layer 1.
func Build(t testing.TB) *Fixture {
	t.Helper()
	testutil.Need(t, "umoci", "skopeo", "busybox")
	d := t.TempDir()
	f := &Fixture{Layout: filepath.Join(d, "layout"), Tag: "multi",
		DockerArchive: filepath.Join(d, "multi-docker.tar"), OCIArchive: filepath.Join(d, "multi-oci.tar"),
		Rootfs: filepath.Join(d, "ref", "rootfs")}
	run(t, d, "umoci", "init", "--layout", "layout")
	run(t, d, "umoci", "new", "--image", "layout:base")
	run(t, d, "umoci", "unpack", "--rootless", "--image", "layout:base", "b1")
	layer1(t, filepath.Join(d, "b1", "rootfs"))
	run(t, d, "umoci", "repack", "--image", "layout:v1", "b1")
	run(t, d, "umoci", "unpack", "--rootless", "--image", "layout:v1", "b2")
	layer2(t, filepath.Join(d, "b2", "rootfs"))
	run(t, d, "umoci", "repack", "--image", "layout:v2", "b2")
	l3 := filepath.Join(d, "layer3.tar")
	if err := os.WriteFile(l3, layer3(t), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, d, "umoci", "raw", "add-layer", "--image", "layout:v2", "--tag", "multi", l3)
	run(t, d, "umoci", "config", "--image", "layout:multi", "--config.env", "FOO=bar",
		"--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c", "--config.cmd", "cat /opt/app/file",
		"--config.workingdir", "/opt", "--config.user", "1000:1000", "--config.label", "org.test=yes")
	run(t, d, "umoci", "unpack", "--rootless", "--image", "layout:multi", "ref")
	run(t, d, "skopeo", "copy", "-q", "oci:layout:multi", "docker-archive:multi-docker.tar:probe/multi:1")
	run(t, d, "skopeo", "copy", "-q", "oci:layout:multi", "oci-archive:multi-oci.tar:multi")
	return f
}

func write(t testing.TB, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func layer1(t testing.TB, r string) {
	bb, err := os.ReadFile("/bin/busybox")
	must(t, err)
	write(t, filepath.Join(r, "bin/busybox"), string(bb), 0o755)
	for _, app := range []string{"sh", "cat", "ls"} {
		must(t, os.Symlink("busybox", filepath.Join(r, "bin", app)))
	}
	write(t, filepath.Join(r, "etc/marker"), "marker\n", 0o644)
	write(t, filepath.Join(r, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n", 0o644)
	write(t, filepath.Join(r, "opt/app/file"), "v1\n", 0o644)
	write(t, filepath.Join(r, "opt/app/old"), "old\n", 0o644)
	write(t, filepath.Join(r, "opt/keep/k1"), "k1\n", 0o644)
	write(t, filepath.Join(r, "opt/keep/sub/k2"), "k2\n", 0o644)
	write(t, filepath.Join(r, "usr/bin/tool"), "#!/bin/sh\necho tool\n", 0o755)
	must(t, os.Link(filepath.Join(r, "usr/bin/tool"), filepath.Join(r, "usr/bin/tool-hl")))
	write(t, filepath.Join(r, "usr/bin/suid"), "suid\n", 0o755|os.ModeSetuid)
	write(t, filepath.Join(r, "usr/bin/sgid"), "sgid\n", 0o755|os.ModeSetgid)
	write(t, filepath.Join(r, "secret"), "mode 000\n", 0)
	write(t, filepath.Join(r, "var/lib/linked"), "shared content\n", 0o644)
	write(t, filepath.Join(r, "dir with space/été ünï ☃.txt"), "unicode\n", 0o644)
	must(t, os.MkdirAll(filepath.Join(r, "tmp"), 0o755))
	must(t, os.Chmod(filepath.Join(r, "tmp"), 0o777|os.ModeSticky))
	must(t, os.Symlink("/etc/passwd", filepath.Join(r, "etc/abs-link")))
	must(t, os.Symlink("../usr/bin/tool", filepath.Join(r, "opt/rel-link")))
}

func layer2(t testing.TB, r string) {
	must(t, os.Remove(filepath.Join(r, "etc/marker")))
	must(t, os.Remove(filepath.Join(r, "opt/app/old")))
	write(t, filepath.Join(r, "opt/app/file"), "v2\n", 0o644)
	write(t, filepath.Join(r, "opt/app/new"), "new\n", 0o600)
}

func layer3(t testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1700000000, 0)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "opt/", Mode: 0o755, ModTime: mt},
		{Typeflag: tar.TypeDir, Name: "opt/keep/", Mode: 0o750, ModTime: mt},
		{Typeflag: tar.TypeReg, Name: "opt/keep/.wh..wh..opq", Mode: 0o644, ModTime: mt},
		{Typeflag: tar.TypeReg, Name: "opt/keep/fresh", Mode: 0o644, ModTime: mt, Size: 6},
		{Typeflag: tar.TypeDir, Name: "var/", Mode: 0o755, ModTime: mt},
		{Typeflag: tar.TypeDir, Name: "var/lib/", Mode: 0o755, ModTime: mt},
		{Typeflag: tar.TypeLink, Name: "var/lib/linked-again", Linkname: "var/lib/linked", ModTime: mt},
	} {
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write([]byte("fresh\n"))
			must(t, err)
		}
	}
	must(t, tw.Close())
	return buf.Bytes()
}
