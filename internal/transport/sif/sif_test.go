package sif

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sifimg "github.com/sylabs/sif/v2/pkg/sif"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/sqfsformat"
	"github.com/pcocc/pcocc/internal/testutil"
)

// sifRootfs writes a root file system with the metadata Apptainer writes
// when it builds from a Docker image with a %environment and %runscript.
func sifRootfs(t *testing.T) string {
	root := filepath.Join(t.TempDir(), "rootfs")
	files := map[string]string{
		"etc/hello":                                   "hi\n",
		".singularity.d/env/01-base.sh":               "#!/bin/sh\n# \n",
		".singularity.d/env/10-docker2singularity.sh": "#!/bin/sh\nexport PATH=\"/usr/local/bin:/usr/bin:/bin\"\nexport LANG=\"${LANG:-\"C.UTF-8\"}\"\n",
		".singularity.d/env/90-environment.sh":        "#!/bin/sh\n#Custom environment shell code should follow\n\nexport GREETING=\"hello $LANG\"\nID=$(id -u)\n",
		".singularity.d/env/94-appsbase.sh":           "#!/bin/sh\nfor app in /scif/apps/*; do\n  :\ndone\n",
		".singularity.d/env/99-base.sh":               "#!/bin/sh\nif test -z \"${LD_LIBRARY_PATH:-}\"; then\n  LD_LIBRARY_PATH=/.singularity.d/libs\nfi\nexport LD_LIBRARY_PATH\n",
		".singularity.d/runscript":                    "#!/bin/sh\necho run \"$@\"\n",
		".singularity.d/labels.json":                  `{"org.label-schema.schema-version": "1.0", "maintainer": "me"}`,
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// squashfsOf builds a squashfs of dir with gensquashfs.
func squashfsOf(t *testing.T, dir string) string {
	testutil.Need(t, "gensquashfs")
	out := filepath.Join(t.TempDir(), "root.sqfs")
	if b, err := exec.Command("gensquashfs", "-q", "-D", dir, "-c", "gzip", out).CombinedOutput(); err != nil {
		t.Fatalf("gensquashfs: %v\n%s", err, b)
	}
	return out
}

// makeSIF writes a SIF of the given data objects with the sif library.
func makeSIF(t *testing.T, inputs ...func() (sifimg.DescriptorInput, error)) string {
	p := filepath.Join(t.TempDir(), "img.sif")
	var dis []sifimg.DescriptorInput
	for _, in := range inputs {
		di, err := in()
		if err != nil {
			t.Fatal(err)
		}
		dis = append(dis, di)
	}
	f, err := sifimg.CreateContainerAtPath(p, sifimg.OptCreateWithDescriptors(dis...), sifimg.OptCreateDeterministic())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.UnloadContainer(); err != nil {
		t.Fatal(err)
	}
	return p
}

func partition(b []byte, fs sifimg.FSType, pt sifimg.PartType) func() (sifimg.DescriptorInput, error) {
	return func() (sifimg.DescriptorInput, error) {
		return sifimg.NewDescriptorInput(sifimg.DataPartition, bytes.NewReader(b), sifimg.OptPartitionMetadata(fs, pt, "amd64"))
	}
}

func object(dt sifimg.DataType, b []byte, opts ...sifimg.DescriptorInputOpt) func() (sifimg.DescriptorInput, error) {
	return func() (sifimg.DescriptorInput, error) {
		return sifimg.NewDescriptorInput(dt, bytes.NewReader(b), opts...)
	}
}

func deffile() func() (sifimg.DescriptorInput, error) {
	return object(sifimg.DataDeffile, []byte("Bootstrap: docker\nFrom: busybox\n"))
}

func TestSIFLibrary(t *testing.T) {
	sqfs := squashfsOf(t, sifRootfs(t))
	raw, err := os.ReadFile(sqfs)
	if err != nil {
		t.Fatal(err)
	}
	p := makeSIF(t, deffile(), partition(raw, sifimg.FsSquash, sifimg.PartPrimSys),
		object(sifimg.DataLabels, []byte(`{"from.object": "yes"}`)))
	checkSIF(t, p, raw, map[string]string{"from.object": "yes"})
}

func TestSIFsiftool(t *testing.T) {
	testutil.Need(t, "siftool")
	sqfs := squashfsOf(t, sifRootfs(t))
	raw, err := os.ReadFile(sqfs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "img.sif")
	def := filepath.Join(dir, "def")
	if err := os.WriteFile(def, []byte("Bootstrap: localimage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"new", p},
		{"add", p, def, "--datatype", "1"},
		{"add", p, sqfs, "--datatype", "4", "--parttype", "2", "--partfs", "1", "--partarch", "2"},
	} {
		if b, err := exec.Command("siftool", args...).CombinedOutput(); err != nil {
			t.Fatalf("siftool %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	checkSIF(t, p, raw, nil)
}

// checkSIF opens a SIF, copies its squashfs as the importer does and reads
// the configuration out of the copy.
func checkSIF(t *testing.T, p string, raw []byte, extraLabels map[string]string) {
	t.Helper()
	img, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.FileOnly, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, ok := img.(imagesrc.Layered); ok || img.(imagesrc.SquashfsImage).Squashfs() == nil {
		t.Fatalf("image %+v: want a squashfs and no layers", img)
	}
	rc, err := img.(imagesrc.SquashfsImage).Squashfs().Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, raw) || img.(imagesrc.SquashfsImage).Squashfs().Size != int64(len(raw)) {
		t.Fatalf("partition: %d bytes (size %d), not the squashfs put in (%d bytes)", len(got), img.(imagesrc.SquashfsImage).Squashfs().Size, len(raw))
	}
	copyPath := filepath.Join(t.TempDir(), "copy.sqfs")
	if err := os.WriteFile(copyPath, got, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, warns, err := img.(imagesrc.SquashfsImage).Squashfs().Config(context.Background(), copyPath)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"org.label-schema.schema-version": "1.0", "maintainer": "me"}
	for k, v := range extraLabels {
		labels[k] = v
	}
	want := imagemeta.Config{
		Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "GREETING=hello C.UTF-8"},
		Entrypoint: []string{"/.singularity.d/runscript"},
		Labels:     labels,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "/.singularity.d/env/90-environment.sh:5: skipping a command: command substitution") {
		t.Errorf("warnings %q: want one for the $(id -u) of 90-environment.sh line 5", warns)
	}
}

// TestSIFCorruptPartition: a system partition whose super block is sound but
// whose tables are not is refused with one line when its metadata is read.
func TestSIFCorruptPartition(t *testing.T) {
	raw, err := os.ReadFile(squashfsOf(t, sifRootfs(t)))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sqfsformat.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := sb.InodeTableStart; i < sb.IDTableStart; i++ {
		raw[i] = 0xff // metadata block headers of 32 KiB: more than a block may hold
	}
	p := filepath.Join(t.TempDir(), "corrupt.sqfs")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = sifConfig(nil, nil)(context.Background(), p)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "bad metadata block header") {
		t.Fatalf("error %v, want one line saying the metadata is bad", err)
	}
	t.Log(err)
}

func TestSIFFaults(t *testing.T) {
	raw, err := os.ReadFile(squashfsOf(t, sifRootfs(t)))
	if err != nil {
		t.Fatal(err)
	}
	truncated := makeSIF(t, deffile(), partition(raw, sifimg.FsSquash, sifimg.PartPrimSys))
	fi, _ := os.Stat(truncated)
	if err := os.Truncate(truncated, fi.Size()-1000); err != nil {
		t.Fatal(err)
	}
	notSIF := filepath.Join(t.TempDir(), "not.sif")
	os.WriteFile(notSIF, []byte("#!/bin/sh\necho not a sif\n"), 0o644)
	sig := object(sifimg.DataSignature, []byte("-----BEGIN PGP SIGNATURE-----\n"), sifimg.OptSignatureMetadata(crypto.SHA256, make([]byte, 20)))
	tests := []struct {
		name, path, want string
	}{
		{"no partition", makeSIF(t, deffile()), "no primary system partition in the SIF (it holds: Def.FILE)"},
		{"data partition only", makeSIF(t, partition(raw, sifimg.FsSquash, sifimg.PartData)), "no primary system partition in the SIF (it holds: FS (Data Squashfs))"},
		{"signed only", makeSIF(t, sig), "no primary system partition in the SIF (it holds: Signature)"},
		{"encrypted", makeSIF(t, partition(raw, sifimg.FsEncryptedSquashfs, sifimg.PartPrimSys)), "the system partition is encrypted"},
		{"ext3", makeSIF(t, partition(raw, sifimg.FsExt3, sifimg.PartPrimSys)), "the system partition is Ext3, not squashfs"},
		{"not squashfs", makeSIF(t, partition([]byte("garbage, not a superblock"), sifimg.FsSquash, sifimg.PartPrimSys)), "not a squashfs"},
		{"truncated", truncated, "the SIF is truncated: its system partition ends at byte"},
		{"not a SIF", notSIF, "is not a SIF file"},
		{"missing", filepath.Join(t.TempDir(), "nope.sif"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.FileOnly, Path: tt.path})
			if err == nil {
				img.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line with %q", err, tt.want)
			}
		})
	}
}

// A signed SIF is imported, with a warning that its signatures are not
// checked.
func TestSIFSignedWarns(t *testing.T) {
	raw, err := os.ReadFile(squashfsOf(t, sifRootfs(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := makeSIF(t, partition(raw, sifimg.FsSquash, sifimg.PartPrimSys),
		object(sifimg.DataSignature, []byte("sig"), sifimg.OptSignatureMetadata(crypto.SHA256, make([]byte, 20)), sifimg.OptLinkedID(1)))
	img, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.FileOnly, Path: p})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	copyPath := filepath.Join(t.TempDir(), "copy.sqfs")
	os.WriteFile(copyPath, raw, 0o644)
	_, warns, err := img.(imagesrc.SquashfsImage).Squashfs().Config(context.Background(), copyPath)
	if err != nil || len(warns) == 0 || !strings.Contains(warns[0], "does not verify SIF signatures") {
		t.Errorf("warnings %q, error %v", warns, err)
	}
}

// An image without /.singularity.d is imported with an empty configuration.
func TestSIFNoMetadata(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644)
	sqfs := squashfsOf(t, dir)
	raw, _ := os.ReadFile(sqfs)
	img, err := Open(context.Background(), imagesrc.Ref{Transport: Name, Form: imagesrc.FileOnly, Path: makeSIF(t, partition(raw, sifimg.FsSquash, sifimg.PartPrimSys))})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	cfg, warns, err := img.(imagesrc.SquashfsImage).Squashfs().Config(context.Background(), sqfs)
	if err != nil || !errors.Is(err, nil) || len(cfg.Env)+len(cfg.Entrypoint) != 0 || len(warns) != 1 {
		t.Errorf("config %+v, warnings %q, error %v", cfg, warns, err)
	}
}
