package sqfsformat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func valid() Superblock {
	return Superblock{Magic: 0x73717368, InodeCount: 1, BlockSize: 1 << 17, BlockLog: 17, Compression: Zstd,
		IDCount: 1, VersionMajor: 4, BytesUsed: 4096, InodeTableStart: 96, DirTableStart: 200, IDTableStart: 300,
		FragmentTableStart: NoTable, ExportTableStart: NoTable, XattrIDTableStart: NoTable}
}

func encode(t *testing.T, sb Superblock) []byte {
	t.Helper()
	b, err := binary.Append(nil, binary.LittleEndian, sb)
	if err != nil || len(b) != SuperblockSize {
		t.Fatalf("encoding: %v (%d bytes)", err, len(b))
	}
	return b
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Superblock)
		want   string // "" for valid
	}{
		{"valid", func(*Superblock) {}, ""},
		{"magic", func(sb *Superblock) { sb.Magic = 0x12345678 }, "not a squashfs"},
		{"version", func(sb *Superblock) { sb.VersionMajor = 3 }, "version 3.0"},
		{"block size not a power of 2", func(sb *Superblock) { sb.BlockSize = 3 << 16 }, "bad block size"},
		{"block log disagrees", func(sb *Superblock) { sb.BlockLog = 16 }, "bad block size"},
		{"block too large", func(sb *Superblock) { sb.BlockSize, sb.BlockLog = 1<<21, 21 }, "bad block size"},
		{"compressor", func(sb *Superblock) { sb.Compression = 9 }, "unknown compressor id 9"},
		{"bytes used", func(sb *Superblock) { sb.BytesUsed = 10 }, "bytes_used 10"},
		{"tables inverted", func(sb *Superblock) { sb.DirTableStart = 50 }, "tables out of order"},
		{"ids past the end", func(sb *Superblock) { sb.IDTableStart = 5000 }, "tables out of order"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sb := valid()
			c.change(&sb)
			got, err := Parse(encode(t, sb))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case c.want == "" && got != sb:
				t.Fatalf("decoded %+v, want %+v", got, sb)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrFormat)):
				t.Fatalf("got %v, want an ErrFormat saying %q", err, c.want)
			}
		})
	}
	if _, err := Parse(make([]byte, 10)); err == nil {
		t.Fatal("a 10-byte super block was accepted")
	}
}

func TestReadSuperblockTruncated(t *testing.T) {
	b := append(make([]byte, 8), encode(t, valid())...) // at offset 8, as in a SIF
	if _, err := ReadSuperblock(bytes.NewReader(b), 8); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want a truncated image", err)
	}
	b = append(b, make([]byte, 4096-SuperblockSize)...)
	if _, err := ReadSuperblock(bytes.NewReader(b), 8); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSuperblock(bytes.NewReader(b[:50]), 8); err == nil || !strings.Contains(err.Error(), "truncated super block") {
		t.Fatalf("got %v, want a truncated super block", err)
	}
	if _, err := ReadSuperblock(bytes.NewReader([]byte("garbage")), 0); !errors.Is(err, ErrNotSquashfs) {
		t.Fatalf("got %v, want not a squashfs", err)
	}
}

// TestRealImages reads what the squashfs writers pcocc meets produce.
func TestRealImages(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, comp := range []string{"gzip", "xz", "lz4", "zstd", "lzo"} {
		for _, w := range [][]string{
			{"mksquashfs", dir, "OUT", "-quiet", "-noappend", "-comp", comp},
			{"gensquashfs", "-q", "-D", dir, "-c", comp, "OUT"},
		} {
			if _, err := exec.LookPath(w[0]); err != nil {
				t.Logf("%s not found", w[0])
				continue
			}
			out := filepath.Join(t.TempDir(), "img.sqfs")
			for i := range w {
				if w[i] == "OUT" {
					w[i] = out
				}
			}
			if b, err := exec.Command(w[0], w[1:]...).CombinedOutput(); err != nil {
				t.Logf("%s -c %s: %v: %s", w[0], comp, err, b) // a writer built without this compressor
				continue
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			sb, err := ReadSuperblock(f, 0)
			f.Close()
			if err != nil || sb.CompressorName() != comp {
				t.Fatalf("%s -c %s: %v, compressor %q", w[0], comp, err, sb.CompressorName())
			}
		}
	}
}
