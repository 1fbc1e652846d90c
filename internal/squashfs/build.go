// Package squashfs builds squashfs images from tar streams.
package squashfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/tools"
)

// DefaultCompression and DefaultZstdLevel were chosen by measurement (see
// docs/benchmarks.md): zstd level 3 builds about 10x faster than zstd's
// default level 15 for 10% more space, and reads as fast.
const (
	DefaultCompression = "zstd"
	DefaultZstdLevel   = 3
)

// Compressions lists the names BuildOptions.Compression accepts.
var Compressions = []string{"zstd", "lz4", "gzip", "xz", "none"}

// BuildOptions tune Build. The zero value is the default.
type BuildOptions struct {
	Compression string // one of Compressions; "" means DefaultCompression
	Level       int    // compression level for zstd, gzip, xz; 0: the default
	Jobs        int    // compressor threads; 0: one per CPU
}

// Effective returns the compressor tar2sqfs really uses for a name:
// squashfs-tools-ng 1.2 has no uncompressed mode, so "none" is served by lz4,
// the cheapest codec (blocks that do not shrink are stored as they are).
func Effective(compression string) string {
	switch compression {
	case "":
		return DefaultCompression
	case "none":
		return "lz4"
	}
	return compression
}

// args returns the tar2sqfs command line building out.
func (o BuildOptions) args(out string) ([]string, error) {
	comp := Effective(o.Compression)
	args := []string{"-q", "-f", "-s", "-c", comp}
	level := o.Level
	switch comp {
	case "zstd":
		if level == 0 {
			level = DefaultZstdLevel
		}
	case "gzip", "xz":
	case "lz4":
		level = 0 // lz4 has no levels in tar2sqfs
	default:
		return nil, fmt.Errorf("unknown compression %q (known: %s)", o.Compression, strings.Join(Compressions, ", "))
	}
	if level != 0 {
		args = append(args, "-X", "level="+strconv.Itoa(level))
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	return append(args, "-j", strconv.Itoa(jobs), out), nil
}

// BuildFrom writes the squashfs image of the tar stream that produce writes
// to out with tar2sqfs: straight into its standard input, with no copy in
// between. On error or cancellation tar2sqfs is killed and out is removed,
// so a caller never sees a partial image; produce's context is cancelled
// then, and BuildFrom returns only once produce has returned. An error from
// produce is returned as is.
func BuildFrom(ctx context.Context, produce func(ctx context.Context, w io.Writer) error, out string, opt BuildOptions) (err error) {
	args, err := opt.args(out)
	if err != nil {
		return err
	}
	bin, err := tools.Find("tar2sqfs")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(out)
		}
	}()
	return run(ctx, bin, args, produce, out)
}

// pipeSize is the capacity asked for tar2sqfs's standard input: fewer,
// larger transfers than the default 64 KiB (the kernel may give less).
const pipeSize = 1 << 20

// run feeds produce's stream to tar2sqfs. It returns only once both have
// ended, whichever fails first: a producer left running would use what its
// caller tears down next (the transaction it stores blobs in). A failure of
// the producer wins over tar2sqfs's (which is then only its consequence),
// and fails the build even when tar2sqfs has already exited with success.
func run(ctx context.Context, bin string, args []string, produce func(context.Context, io.Writer) error, out string) error {
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("building squashfs %q: %w", out, err)
	}
	setPipeSize(pw)
	stderr := &tail{max: 4096}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stderr = pr, stderr
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("starting tar2sqfs: %w", err)
	}
	pr.Close()
	pctx, stopProducer := context.WithCancel(ctx)
	defer stopProducer()
	b := &feed{cmd: cmd, stopProducer: stopProducer, fed: make(chan error, 1), exited: make(chan error, 1),
		outDir: filepath.Dir(out), freeAtExit: -1}
	b.closeInput = sync.OnceFunc(func() { pw.Close() }) // its writes fail from then on
	var n atomic.Int64                                  // bytes given to tar2sqfs
	go func() {
		bw := bufio.NewWriterSize(counter{pw, &n}, 256<<10)
		err := produce(pctx, bw)
		if err == nil {
			err = bw.Flush()
		}
		b.closeInput()
		b.fed <- err
	}()
	go func() { b.exited <- cmd.Wait() }()

	cancelled, feedErr, exitErr := b.wait(ctx)
	switch {
	case cancelled:
		return ctx.Err()
	case failed(feedErr) && !(exitErr != nil && errors.Is(feedErr, context.Canceled)):
		return feedErr
	}
	// tar2sqfs stops at the end-of-archive marker: exiting with success
	// before the producer wrote its last bytes (padding) is fine.
	return exitError(out, exitErr, stderr, n.Load(), b.freeAtExit)
}

// feed is tar2sqfs and the producer writing into its standard input.
type feed struct {
	cmd          *exec.Cmd
	fed, exited  chan error // the producer's error, tar2sqfs's exit
	stopProducer func()     // cancels the producer's context
	closeInput   func()     // makes the producer's writes fail
	outDir       string     // where the output is written
	// freeAtExit is outDir's free space when tar2sqfs failed, before the
	// producer is stopped (see diskFull); -1: not measured.
	freeAtExit int64
}

// wait returns once both sides have ended, stopping the other side when
// one fails or ctx is cancelled.
func (b *feed) wait(ctx context.Context) (cancelled bool, feedErr, exitErr error) {
	feeding, building := true, true
	done := ctx.Done()
	for feeding || building {
		select {
		case feedErr = <-b.fed:
			feeding = false
			if building && failed(feedErr) {
				_ = b.cmd.Process.Kill() // do not build from a stream cut short
			}
		case exitErr = <-b.exited:
			building = false
			if exitErr != nil {
				b.freeAtExit = freeBytes(b.outDir)
				b.stopProducer()
			}
			b.closeInput()
		case <-done:
			done, cancelled = nil, true
			b.stopProducer()
			b.closeInput()
			if building {
				_ = b.cmd.Process.Kill()
			}
		}
	}
	return cancelled, feedErr, exitErr
}

// setPipeSize enlarges the pipe without Fd, which would make its writes
// blocking ones that closing it could not interrupt.
func setPipeSize(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
	}
}

// failed tells a producer's failure from the errors of its writes into
// tar2sqfs's standard input once tar2sqfs has exited or run has closed it.
func failed(err error) bool {
	return err != nil && !errors.Is(err, os.ErrClosed) && !isBrokenPipe(err)
}

func isBrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// exitError turns tar2sqfs's failure into one line: its last message.
func exitError(out string, err error, stderr *tail, fed, free int64) error {
	if err == nil {
		return nil
	}
	msg := stderr.lastLine()
	if msg == "" {
		msg = err.Error()
	}
	if strings.Contains(msg, "I/O error") && diskFull(free, fed) {
		return fmt.Errorf("building squashfs %q: no space left on device (tar2sqfs: %s)", out, msg)
	}
	return fmt.Errorf("building squashfs %q: tar2sqfs: %s", out, msg)
}

// diskFull tells whether a write error was likely ENOSPC: tar2sqfs 1.2 only
// says "I/O error", and removes its output, so the free space it leaves (the
// output's size, when the disk was full) is compared with the amount of tar
// data it was given, which bounds the image size up to squashfs's own
// tables and the file system's rounding: an eighth and 1 MiB of margin.
// The space is measured as tar2sqfs exits, before the producer is stopped:
// the producer's own writes to the same file system (an import's layer
// blobs) are removed when it stops, and counting them made a full disk
// look like a plain I/O error now and then.
func diskFull(free, fed int64) bool {
	return free >= 0 && free < fed+fed/8+1<<20
}

// freeBytes is the space an unprivileged writer has left in dir; -1 when
// it cannot be known.
func freeBytes(dir string) int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := bytes.Split(bytes.TrimSpace(t.buf), []byte("\n"))
	return strings.TrimSpace(string(lines[len(lines)-1]))
}

// counter counts the bytes written through it, before the write blocks.
type counter struct {
	w io.Writer
	n *atomic.Int64
}

func (c counter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return c.w.Write(p)
}
