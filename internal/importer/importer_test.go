package importer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc/imagesrctest"
	"github.com/pcocc/pcocc/internal/testutil"
	"github.com/pcocc/pcocc/internal/transport"
)

func importRef(t *testing.T, ref string, sink *dirSink) (*imagemeta.Meta, error) {
	t.Helper()
	r, err := transport.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := transport.Open(context.Background(), r)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return Import(context.Background(), img, sink, Options{})
}

func sameTree(t *testing.T, want imagesrctest.Tree, img string) {
	t.Helper()
	if d := imagesrctest.Diff(want, imagesrctest.SquashfsTree(t, img)); d != "" {
		t.Errorf("squashfs differs from umoci's unpack (-want +got):\n%s", d)
	}
}

// TestImportFixture imports the real fixture from each transport and checks
// the squashfs file by file against `umoci unpack --rootless`, then rebuilds
// it, exports it to each transport and imports the export again.
func TestImportFixture(t *testing.T) {
	testutil.Need(t, "tar2sqfs", "sqfs2tar")
	f := imagesrctest.Build(t)
	want := imagesrctest.DirTree(t, f.Rootfs)
	checkFixtureTree(t, want)
	for _, src := range []string{"oci:" + f.Layout + ":multi", "oci-archive:" + f.OCIArchive, "docker-archive:" + f.DockerArchive} {
		t.Run(src, func(t *testing.T) {
			sink := newDirSink(t)
			meta, err := importRef(t, src, sink)
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, want, sink.sqfs)
			checkMeta(t, meta, sink)
			again := sink.commits
			if _, err := importRef(t, src, sink); err != nil || sink.commits != again {
				t.Errorf("second import: %v, %d blobs written again", err, sink.commits-again)
			}
			out := filepath.Join(t.TempDir(), "rebuilt.sqfs")
			if err := Rebuild(context.Background(), meta, sink.open, out, Options{Compression: "lz4"}); err != nil {
				t.Fatal(err)
			}
			sameTree(t, want, out)
			for _, dest := range []string{"docker-archive:" + t.TempDir() + "/x.tar:probe/x:2",
				"oci:" + t.TempDir() + "/lay:t", "oci-archive:" + t.TempDir() + "/o.tar:t"} {
				d, _ := transport.ParseRef(dest)
				if err := Export(context.Background(), meta, sink.open, d); err != nil {
					t.Fatal(err)
				}
				back := newDirSink(t)
				if _, err := importRef(t, dest, back); err != nil {
					t.Fatalf("importing export %s: %v", dest, err)
				}
				sameTree(t, want, back.sqfs)
			}
		})
	}
}

// checkFixtureTree makes sure the reference holds what the test is about.
func checkFixtureTree(t *testing.T, tree imagesrctest.Tree) {
	for _, p := range []string{"etc/marker", "opt/app/old", "opt/keep/k1", "opt/keep/sub"} {
		if _, ok := tree[p]; ok {
			t.Errorf("reference holds %s, removed by an upper layer", p)
		}
	}
	if tree["var/lib/linked-again"].Group != "var/lib/linked" || tree["usr/bin/tool-hl"].Group != "usr/bin/tool" {
		t.Errorf("reference lacks hard links: %+v %+v", tree["var/lib/linked-again"], tree["usr/bin/tool-hl"])
	}
	if tree["secret"].Mode != 0 || tree["usr/bin/suid"].Mode&os.ModeSetuid == 0 || tree["dir with space/été ünï ☃.txt"].Type != "file" {
		t.Errorf("reference lacks special modes or names: %+v %+v %+v", tree["secret"], tree["usr/bin/suid"], tree["dir with space/été ünï ☃.txt"])
	}
}

func checkMeta(t *testing.T, meta *imagemeta.Meta, sink *dirSink) {
	t.Helper()
	if len(meta.Layers) != 3 || meta.Squashfs == nil || meta.Squashfs.File != SquashfsFile ||
		meta.Squashfs.Compression != "zstd" || meta.Config.WorkingDir != "/opt" || meta.Origin.Digest == "" {
		t.Errorf("meta %+v", meta)
	}
	fi, err := os.Stat(sink.sqfs)
	if err != nil || fi.Size() != meta.Squashfs.Size {
		t.Errorf("squashfs size %v, meta says %d", err, meta.Squashfs.Size)
	}
	stored := fmt.Sprint(sink.blobs(t))
	for _, d := range append([]digest.Digest{meta.ConfigDigest}, meta.Layers[0].Digest, meta.Layers[1].Digest, meta.Layers[2].Digest) {
		b, err := os.ReadFile(sink.path(d))
		if err != nil || sha(b) != d {
			t.Errorf("blob %s not stored or corrupt (stored: %s)", d, stored)
		}
	}
	for _, l := range meta.Layers {
		if fi, err := os.Stat(sink.path(l.Digest)); err != nil || fi.Size() != l.Size {
			t.Errorf("layer %s: size %d in meta", l.Digest, l.Size)
		}
	}
}
