package sqfuse

import (
	"bytes"
	"encoding/binary"
	"io"
	"log"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pcocc/pcocc/internal/testutil"
)

// kernelSide is the kernel's end of a loop under test: a SEQPACKET socket
// keeps each request and each reply one message, as /dev/fuse does.
type kernelSide struct {
	t      *testing.T
	fd     int
	unique uint64
	done   chan error
}

func startLoop(t *testing.T) *kernelSide {
	t.Helper()
	img := openImage(t, testutil.Squashfs(t, writeTar(t, testFiles()), "-c", "zstd"))
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	k := &kernelSide{t: t, fd: pair[0], done: make(chan error, 1)}
	l := newLoop(newRawFS(img, log.New(io.Discard, "", 0)), pair[1], nil)
	go func() { k.done <- l.run(); syscall.Close(pair[1]) }()
	t.Cleanup(func() { syscall.Close(k.fd); <-k.done })
	return k
}

// send writes a request of opcode for node, with body after the header.
func (k *kernelSide) send(opcode uint32, node uint64, body []byte) uint64 {
	k.unique++
	h := fuse.InHeader{Length: uint32(inHeaderSize + len(body)), Opcode: opcode, Unique: k.unique, NodeId: node}
	if _, err := syscall.Write(k.fd, append(asBytes(&h), body...)); err != nil {
		k.t.Fatal(err)
	}
	return k.unique
}

// recv reads one reply to the request unique: its status and payload.
func (k *kernelSide) recv(unique uint64) (int32, []byte) {
	buf := make([]byte, 1<<20)
	n, err := syscall.Read(k.fd, buf)
	if err != nil || n < outHeaderSize {
		k.t.Fatalf("reply: %d bytes, %v", n, err)
	}
	oh := (*fuse.OutHeader)(unsafe.Pointer(&buf[0]))
	if oh.Unique != unique || int(oh.Length) != n {
		k.t.Fatalf("reply %+v to request %d, %d bytes read", *oh, unique, n)
	}
	return oh.Status, buf[outHeaderSize:n]
}

func (k *kernelSide) call(opcode uint32, node uint64, body []byte) (int32, []byte) {
	return k.recv(k.send(opcode, node, body))
}

func initBody(major, minor, flags uint32) []byte {
	in := fuse.InitIn{Major: major, Minor: minor, MaxReadAhead: 128 << 10, Flags: flags}
	return asBytes(&in)[inHeaderSize:]
}

func TestLoopInit(t *testing.T) {
	k := startLoop(t)
	if st, _ := k.call(opInit, 0, initBody(6, 40, 0)); st != -int32(syscall.EIO) {
		t.Errorf("major 6: status %d, want EIO", st)
	}
	offer := uint32(fuse.CAP_ASYNC_READ | fuse.CAP_READDIRPLUS | fuse.CAP_READDIRPLUS_AUTO | fuse.CAP_WRITEBACK_CACHE |
		fuse.CAP_CACHE_SYMLINKS | fuse.CAP_MAX_PAGES | fuse.CAP_POSIX_ACL)
	st, b := k.call(opInit, 0, initBody(7, 45, offer))
	if st != 0 || len(b) != int(unsafe.Sizeof(fuse.InitOut{})) {
		t.Fatalf("init: status %d, %d bytes", st, len(b))
	}
	out := (*fuse.InitOut)(unsafe.Pointer(&b[0]))
	want := uint32(fuse.CAP_ASYNC_READ | fuse.CAP_READDIRPLUS | fuse.CAP_CACHE_SYMLINKS | fuse.CAP_MAX_PAGES)
	if out.Major != 7 || out.Minor != ourMinor || out.Flags != want || out.MaxWrite != maxRead || int(out.MaxPages)*syscall.Getpagesize() != maxRead {
		t.Errorf("init reply %+v, want 7.%d, flags %#x (never READDIRPLUS_AUTO, writeback or ACLs)", *out, ourMinor, want)
	}
	if st, b := k.call(opInit, 0, initBody(7, 20, offer)); st != 0 || (*fuse.InitOut)(unsafe.Pointer(&b[0])).Minor != 20 {
		t.Errorf("a 7.20 kernel: status %d, minor not 20", st)
	}
}

func TestLoopRequests(t *testing.T) {
	k := startLoop(t)
	k.call(opInit, 0, initBody(7, 45, fuse.CAP_READDIRPLUS))

	st, b := k.call(opLookup, fuse.FUSE_ROOT_ID, []byte("d\x00"))
	if st != 0 || len(b) != int(unsafe.Sizeof(fuse.EntryOut{})) {
		t.Fatalf("lookup d: status %d, %d bytes", st, len(b))
	}
	d := *(*fuse.EntryOut)(unsafe.Pointer(&b[0]))
	if d.NodeId < 2 || d.Attr.Mode&syscall.S_IFMT != syscall.S_IFDIR || d.EntryValid == 0 {
		t.Errorf("lookup d: %+v", d)
	}
	// A name that is not there: a negative entry (node 0) the kernel keeps.
	if st, b := k.call(opLookup, fuse.FUSE_ROOT_ID, []byte("nothere\x00")); st != 0 || (*fuse.EntryOut)(unsafe.Pointer(&b[0])).NodeId != 0 {
		t.Errorf("lookup nothere: status %d", st)
	}
	// FORGET and INTERRUPT get no reply: the next reply is GETATTR's.
	k.send(opForget, d.NodeId, make([]byte, 8))
	k.send(opInterrupt, 0, make([]byte, 8))
	st, b = k.call(opGetattr, d.NodeId, make([]byte, 16))
	if st != 0 || (*fuse.AttrOut)(unsafe.Pointer(&b[0])).Attr.Ino != d.Attr.Ino {
		t.Errorf("getattr d: status %d", st)
	}
	// A GETATTR shorter than its structure, an opcode it does not serve
	// (IOCTL), OPEN (ENOSYS: the kernel stops opening), a node that is not
	// an inode of the image.
	for _, op := range []uint32{opGetattr, opRead, opReaddirplus, opGetxattr} {
		if st, _ := k.call(op, d.NodeId, nil); st != -int32(syscall.EINVAL) {
			t.Errorf("opcode %d without its structure: status %d, want EINVAL", op, st)
		}
	}
	for _, op := range []uint32{39, 14, 27, 25, 34} {
		if st, _ := k.call(op, d.NodeId, make([]byte, 64)); st != -int32(syscall.ENOSYS) {
			t.Errorf("opcode %d: status %d, want ENOSYS", op, st)
		}
	}
	if st, _ := k.call(opGetattr, 1<<40, make([]byte, 16)); st == 0 {
		t.Errorf("getattr of a node outside the image answered")
	}
	// A read goes to a goroutine of its own; its reply is the file's data.
	small := lookup(t, k, d.NodeId, "small")
	in := fuse.ReadIn{Size: 4096}
	if st, b := k.call(opRead, small, asBytes(&in)[inHeaderSize:]); st != 0 || !bytes.Equal(b, pattern(100, 1)) {
		t.Errorf("read d/small: status %d, %d bytes", st, len(b))
	}
	// getxattr: the size a value needs, then the value, ERANGE when short.
	x1 := lookup(t, k, d.NodeId, "x1")
	xattr := func(size uint32) (int32, []byte) {
		in := fuse.GetXAttrIn{Size: size}
		return k.call(opGetxattr, x1, append(asBytes(&in)[inHeaderSize:], "user.shared\x00"...))
	}
	if st, b := xattr(0); st != 0 || binary.LittleEndian.Uint32(b) != 300 {
		t.Errorf("getxattr size: status %d, %v", st, b)
	}
	if st, b := xattr(512); st != 0 || string(b) != strings.Repeat("v", 300) {
		t.Errorf("getxattr: status %d, %q", st, b)
	}
	if st, _ := xattr(10); st != -int32(syscall.ERANGE) {
		t.Errorf("getxattr into 10 bytes: status %d, want ERANGE", st)
	}
	names := readDirPlus(t, k, d.NodeId)
	if len(names) != 23 || names[0] != "." || names[1] != ".." {
		t.Errorf("readdirplus d: %d names %q", len(names), names)
	}
	if st, _ := k.call(opDestroy, 0, nil); st != 0 {
		t.Errorf("destroy: status %d", st)
	}
	if err := <-k.done; err != nil {
		t.Errorf("the loop after DESTROY: %v", err)
	}
	k.done <- nil // for the cleanup
}

// lookup is the node id of name in the directory node.
func lookup(t *testing.T, k *kernelSide, node uint64, name string) uint64 {
	t.Helper()
	st, b := k.call(opLookup, node, []byte(name+"\x00"))
	if st != 0 || len(b) < int(unsafe.Sizeof(fuse.EntryOut{})) {
		t.Fatalf("lookup %s: status %d", name, st)
	}
	return (*fuse.EntryOut)(unsafe.Pointer(&b[0])).NodeId
}

// readDirPlus lists node with READDIRPLUS requests of 4 KiB, as the kernel
// does, until an empty reply, and returns the names in order.
func readDirPlus(t *testing.T, k *kernelSide, node uint64) []string {
	var names []string
	var off uint64
	for range 100 {
		in := fuse.ReadIn{Offset: off, Size: 4096}
		st, b := k.call(opReaddirplus, node, asBytes(&in)[inHeaderSize:])
		if st != 0 {
			t.Fatalf("readdirplus at %d: status %d", off, st)
		}
		if len(b) == 0 {
			return names
		}
		for len(b) > 0 {
			const entrySize = int(unsafe.Sizeof(fuse.EntryOut{}))
			ent := b[entrySize:]
			off = binary.LittleEndian.Uint64(ent[8:])
			nameLen := int(binary.LittleEndian.Uint32(ent[16:]))
			names = append(names, string(ent[24:24+nameLen]))
			b = b[entrySize+(24+nameLen+7)&^7:]
		}
	}
	t.Fatal("readdirplus never ended")
	return nil
}
