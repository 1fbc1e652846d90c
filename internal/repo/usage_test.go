package repo

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// publish stores an image whose blobs hold the given contents (a digest
// per distinct content) and whose squashfs is sqfs; noLayers publishes it
// as an import without layers does: the blobs named but not stored.
func publish(t *testing.T, r *Repo, name, sqfs string, noLayers bool, blobs ...string) {
	t.Helper()
	tx, err := r.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Abort()
	meta := &imagemeta.Meta{Format: 1, Type: imagemeta.TypeContainer, NoLayers: noLayers,
		Squashfs: &imagemeta.Squashfs{File: "rootfs.sqfs", Size: int64(len(sqfs))}}
	for _, b := range blobs {
		d := digest.Digest("sha256:" + strings.Repeat(fmt.Sprintf("%x", len(b)%16), 64))
		meta.Layers = append(meta.Layers, imagemeta.Layer{Digest: d, Size: int64(len(b))})
		if noLayers {
			continue
		}
		w, err := tx.BlobWriter(d)
		if err != nil {
			t.Fatal(err)
		}
		if w != nil {
			fmt.Fprint(w, b)
			w.Close()
		}
	}
	if err := os.WriteFile(tx.SquashfsPath(), []byte(sqfs), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := tx.Publish(name, meta, false); err != nil {
		t.Fatal(err)
	}
}

// Shared blobs count in full in each image that uses them, and once in the
// repository's total; blobs an image did not keep count for nothing.
func TestDiskUsage(t *testing.T) {
	r := newRepo(t)
	publish(t, r, "a", "sq1", false, "shared-layer", "a-only") // 12 + 6 bytes
	publish(t, r, "b", "sq22", false, "shared-layer", "b-only-layer!")
	publish(t, r, "c", "sq333", true, "shared-layer") // no layers kept
	imgs, err := r.List()
	if err != nil {
		t.Fatal(err)
	}
	per, total := DiskUsage(imgs)
	want := []Usage{{Squashfs: 3, Blobs: 18, Shared: 12}, {Squashfs: 4, Blobs: 25, Shared: 12}, {Squashfs: 5}}
	if diff := cmp.Diff(want, per); diff != "" {
		t.Errorf("per image (-want +got):\n%s", diff)
	}
	if want := int64(3 + 4 + 5 + 12 + 6 + 13); total != want {
		t.Errorf("total = %d, want %d (each blob once)", total, want)
	}
	if got := UsageOf(imgs[1], imgs); got != want[1] {
		t.Errorf("UsageOf(b) = %+v, want %+v", got, want[1])
	}
	// Alone, b shares nothing.
	if got := UsageOf(imgs[1], nil); got.Shared != 0 || got.Blobs != 25 {
		t.Errorf("UsageOf(b, nothing else) = %+v, want no shared bytes", got)
	}
}

// Clean does not keep a blob alive for an image that did not keep it.
func TestCleanIgnoresLayersNotKept(t *testing.T) {
	r := newRepo(t)
	publish(t, r, "a", "sq", false, "layer")
	publish(t, r, "b", "sq", true, "layer")
	if err := r.Delete("a"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(r.join("blobs", "sha256"))
	if len(entries) != 0 {
		t.Errorf("blobs left after deleting the only image that kept them: %v", entries)
	}
}

// A copy into a repository that keeps no layers copies only the squashfs.
func TestCopyDropsLayers(t *testing.T) {
	src, dst := newRepo(t), newRepo(t)
	publish(t, src, "a", "sq", false, "layer")
	img, err := src.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Copy(img, "a", false, true); err != nil {
		t.Fatal(err)
	}
	got, err := dst.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dst.join("blobs", "sha256"))
	if !got.Meta.NoLayers || len(entries) != 0 {
		t.Errorf("copy: noLayers %v, blobs %v; want true and none", got.Meta.NoLayers, entries)
	}
	if err := dst.Copy(got, "b", false, false); err != nil { // nothing to link
		t.Fatalf("copying an image without layers: %v", err)
	}
}
