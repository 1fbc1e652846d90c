package sqfuse

import (
	"errors"
	"log"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// The FUSE opcodes this server answers or must not answer
// (include/uapi/linux/fuse.h); every other one gets ENOSYS, which for
// OPEN, OPENDIR, FLUSH, ACCESS and IOCTL also tells the kernel to stop
// sending them.
const (
	opLookup      = 1
	opForget      = 2
	opGetattr     = 3
	opReadlink    = 5
	opRead        = 15
	opStatfs      = 17
	opRelease     = 18
	opGetxattr    = 22
	opListxattr   = 23
	opInit        = 26
	opReaddir     = 28
	opReleasedir  = 29
	opInterrupt   = 36
	opDestroy     = 38
	opNotifyReply = 41
	opBatchForget = 42
	opReaddirplus = 44
)

const (
	kernelMajor = 7
	// ourMinor is the protocol's minor version this server speaks: 28 has
	// every feature it uses (READDIRPLUS, no open, symlink caching, max
	// pages); the kernel speaks the lesser of its own and this.
	ourMinor      = 28
	minMinor      = 12
	inHeaderSize  = int(unsafe.Sizeof(fuse.InHeader{}))
	outHeaderSize = int(unsafe.Sizeof(fuse.OutHeader{}))
	// maxRead is the largest read the kernel may ask: 1 MiB, fewer round
	// trips for large files (and the read buffers' size).
	maxRead = 1 << 20
	// dirBufSize bounds a listing or an xattr reply; the kernel asks for
	// at most getdents' buffer (32 KiB for find, ls) and 64 KiB of xattr.
	dirBufSize = 128 << 10
)

// loop serves the kernel's requests for fs on the /dev/fuse descriptor fd.
// One goroutine, locked to its thread, reads the requests and answers those
// about metadata at once, from memory, with no allocation and no hand-off
// to another thread: a cold walk of an image (find, a Python start) waits
// on one round trip per request, and each hand-off costs a context switch:
// against go-fuse's server (two blocking readers), about 0.8x of its time
// where the program and the server share a CPU (docs/benchmarks.md). Reads
// of file data may decompress blocks: they go to goroutines, at most
// readers at once, each with a maxRead buffer, so that the loop keeps
// answering metadata while they decompress.
type loop struct {
	fd      int
	fs      *rawFS
	in, out []byte
	readers chan struct{} // a token per read in progress
	bufs    sync.Pool
	wg      sync.WaitGroup
	debug   *log.Logger // every request and its status, when set
}

// maxReaders is how many reads decompress at once: enough for every CPU,
// and a bound on the server's read buffers (maxReaders × maxRead).
func maxReaders() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

func newLoop(fs *rawFS, fd int, debug *log.Logger) *loop {
	l := &loop{fd: fd, fs: fs, in: make([]byte, maxRead+64<<10), out: make([]byte, dirBufSize),
		readers: make(chan struct{}, maxReaders()), debug: debug}
	l.bufs.New = func() any { b := make([]byte, maxRead); return &b }
	return l
}

// run serves until the file system is unmounted (the kernel answers
// ENODEV) and every read in progress has been answered.
func (l *loop) run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.wg.Wait()
	for {
		n, err := unix.Read(l.fd, l.in)
		switch {
		case err == nil:
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOENT):
			continue // the request was interrupted before it was read
		case errors.Is(err, unix.ENODEV):
			return nil // unmounted
		default:
			return err
		}
		if n == 0 {
			return nil // end of file: only a socket standing in for /dev/fuse (tests) says so
		}
		if n < inHeaderSize {
			continue
		}
		if !l.handle(l.in[:n]) {
			return nil
		}
	}
}

// reply writes the header and the payload in one writev(2); an error means
// the kernel gave up on the request (interrupted, unmounted): nothing to do.
func (l *loop) reply(h *fuse.InHeader, st fuse.Status, payload []byte) {
	if l.debug != nil {
		l.debug.Printf("sqfuse: op %d node %d: %v, %d bytes", h.Opcode, h.NodeId, st, len(payload))
	}
	var errno int32
	if st != fuse.OK {
		errno, payload = -int32(st), nil
	}
	oh := fuse.OutHeader{Length: uint32(outHeaderSize + len(payload)), Status: errno, Unique: h.Unique}
	hb := asBytes(&oh)
	if len(payload) == 0 {
		_, _ = unix.Write(l.fd, hb)
		return
	}
	_, _ = unix.Writev(l.fd, [][]byte{hb, payload})
}

// asBytes is the memory of a protocol structure, as the kernel lays it out.
func asBytes[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}

// at is the request's structure T (they all start with the header), or nil
// when the request is too short for it (a kernel never sends one).
func at[T any](req []byte) *T {
	var zero T
	if len(req) < int(unsafe.Sizeof(zero)) {
		return nil
	}
	return (*T)(unsafe.Pointer(&req[0]))
}

// cstring is the NUL-terminated name at the start of b.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// handle answers one request; false once the kernel has said DESTROY.
func (l *loop) handle(req []byte) bool {
	h := at[fuse.InHeader](req)
	switch h.Opcode {
	case opForget, opBatchForget, opInterrupt, opNotifyReply:
		// No reply. Node ids are references into the image: nothing to
		// forget. A read is never stopped halfway: no interrupt either.
		return true
	case opDestroy:
		l.reply(h, fuse.OK, nil)
		return false
	case opRead:
		if in := at[fuse.ReadIn](req); in != nil {
			l.startRead(*in)
			return true
		}
	}
	st, payload := l.answer(h, req)
	l.reply(h, st, payload)
	return true
}

// answer is the status and the reply of every request answered in the loop.
func (l *loop) answer(h *fuse.InHeader, req []byte) (fuse.Status, []byte) {
	body := req[inHeaderSize:]
	switch h.Opcode {
	case opInit:
		if in := at[fuse.InitIn](req); in != nil {
			out, st := negotiate(in)
			return st, asBytes(&out)
		}
	case opLookup:
		var out fuse.EntryOut
		st := l.fs.Lookup(nil, h, cstring(body), &out)
		return st, asBytes(&out)
	case opGetattr:
		if in := at[fuse.GetAttrIn](req); in != nil {
			var out fuse.AttrOut
			st := l.fs.GetAttr(nil, in, &out)
			return st, asBytes(&out)
		}
	case opReadlink:
		return swap(l.fs.Readlink(nil, h))
	case opReaddir, opReaddirplus:
		if in := at[fuse.ReadIn](req); in != nil {
			list := fuse.NewDirEntryList(l.out[:min(int(in.Size), len(l.out))], in.Offset)
			st := l.fs.readDir(in, list, h.Opcode == opReaddirplus)
			return st, list.Bytes()
		}
	case opStatfs:
		var out fuse.StatfsOut
		st := l.fs.StatFs(nil, h, &out)
		return st, asBytes(&out)
	case opGetxattr, opListxattr:
		if in := at[fuse.GetXAttrIn](req); in != nil {
			return l.xattr(in, req[unsafe.Sizeof(*in):])
		}
	case opRelease, opReleasedir:
		return fuse.OK, nil
	case opRead:
		// shorter than its structure: handle starts the others
	default:
		return fuse.ENOSYS, nil
	}
	return fuse.EINVAL, nil // shorter than its opcode's structure
}

func swap(b []byte, st fuse.Status) (fuse.Status, []byte) { return st, b }

// negotiate answers INIT: the capabilities of the kernel's offer that a
// read-only image served from memory wants, as go-fuse's server did.
func negotiate(in *fuse.InitIn) (fuse.InitOut, fuse.Status) {
	if in.Major != kernelMajor || in.Minor < minMinor {
		return fuse.InitOut{}, fuse.EIO
	}
	offer := uint64(in.Flags) // flags2 is only there with CAP_INIT_EXT: nothing of it is wanted
	want := uint64(fuse.CAP_ASYNC_READ | fuse.CAP_BIG_WRITES | fuse.CAP_READDIRPLUS | fuse.CAP_NO_OPEN_SUPPORT |
		fuse.CAP_PARALLEL_DIROPS | fuse.CAP_MAX_PAGES | fuse.CAP_CACHE_SYMLINKS | fuse.CAP_EXPLICIT_INVAL_DATA)
	const background = 64 // readahead requests in flight: enough for every CPU to decompress
	return fuse.InitOut{
		Major: kernelMajor, Minor: min(ourMinor, in.Minor), MaxReadAhead: in.MaxReadAhead,
		Flags: uint32(offer & want), MaxBackground: background, CongestionThreshold: background * 3 / 4,
		MaxWrite: maxRead, MaxPages: uint16(maxRead / syscall.Getpagesize()),
	}, fuse.OK
}

// startRead answers a READ in a goroutine of its own, once one of the
// readers' tokens is free.
func (l *loop) startRead(in fuse.ReadIn) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.readers <- struct{}{}
		defer func() { <-l.readers }()
		bp := l.bufs.Get().(*[]byte)
		defer l.bufs.Put(bp)
		res, st := l.fs.Read(nil, &in, *bp)
		if st != fuse.OK {
			l.reply(&in.InHeader, st, nil)
			return
		}
		b, st := res.Bytes(*bp)
		l.reply(&in.InHeader, st, b)
	}()
}

// xattr answers GETXATTR and LISTXATTR: with a size of 0, the size the
// value needs; else the value, or ERANGE when it does not fit.
func (l *loop) xattr(in *fuse.GetXAttrIn, name []byte) (fuse.Status, []byte) {
	dest := l.out[:min(int(in.Size), len(l.out))]
	var n uint32
	var st fuse.Status
	if in.Opcode == opGetxattr {
		n, st = l.fs.GetXAttr(nil, &in.InHeader, cstring(name), dest)
	} else {
		n, st = l.fs.ListXAttr(nil, &in.InHeader, dest)
	}
	if st != fuse.OK {
		return st, nil
	}
	if in.Size == 0 {
		out := fuse.GetXAttrOut{Size: n}
		return st, asBytes(&out)
	}
	return st, dest[:n]
}
