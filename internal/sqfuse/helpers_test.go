package sqfuse

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestMain lets the test binary be the server, as pcocc is (pcocc
// __pcocc_sqfuse ...), so that tests run the real entry point.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == Arg {
		os.Exit(Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

// entry is what a test expects of one path of an image, and what a walk of
// an image or a mount finds: everything `ls -l` and a checksum can see.
type entry struct {
	Type   byte // f d l c b p s
	Mode   uint32
	UID    int
	GID    int
	Size   int64 // regular files and symlinks
	Target string
	Nlink  uint32 // 0: not compared (directories of the source tar)
	Rdev   uint64
	Sum    string // sha256 of the content of regular files
	Xattrs string // "name=value;..." sorted
}

func (e entry) String() string {
	return fmt.Sprintf("%c %04o %d:%d size=%d ->%q nlink=%d rdev=%d sum=%.12s xattrs=%q",
		e.Type, e.Mode, e.UID, e.GID, e.Size, e.Target, e.Nlink, e.Rdev, e.Sum, e.Xattrs)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// tarFile is one member of a generated image.
type tarFile struct {
	name, link string
	typ        byte
	mode       int64
	uid, gid   int
	data       []byte
	dev        [2]int64
	xattrs     map[string]string
}

// writeTar makes the tar stream that tar2sqfs turns into a test image.
func writeTar(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	mtime := time.Unix(1700000000, 0)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Linkname: f.link, Typeflag: f.typ, Mode: f.mode, Uid: f.uid, Gid: f.gid,
			Size: int64(len(f.data)), ModTime: mtime, Devmajor: f.dev[0], Devminor: f.dev[1], Format: tar.FormatPAX}
		if len(f.xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range f.xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pattern is data that compresses a little but not to nothing, so that
// blocks are stored compressed and decompression is exercised.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x>>24) & 0x3f
	}
	return b
}
