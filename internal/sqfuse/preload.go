package sqfuse

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// Preloading: at mount, the inode and directory tables (every name, mode,
// size and block list of the image: a few bytes per file, small next to the
// data) are read in one sequential pass and decompressed on all CPUs but one into a
// cache that never evicts, so that lookups, getattr and readdir over a large
// image are answered from memory instead of one small read and one
// decompression per 8 KiB block, on demand, from a cold file (the kernel's
// squashfs reads its metadata through the page cache with readahead; a FUSE
// server must do the equivalent itself). It runs in the background: a
// request that comes first reads its block itself, and the preload then
// finds it cached.
//
// PreloadEnv bounds what is kept: the tables are preloaded only when their
// decompressed size (counted as a full 8 KiB per metadata block, so a strict
// upper bound) is at most that many MiB; above it, or at 0, metadata is read
// on demand through the 32 MiB metadata cache, as without a preload.
const (
	PreloadEnv     = "PCOCC_SQFUSE_PRELOAD_MIB"
	defaultPreload = 256
)

// PreloadLimit returns the bound in bytes that PreloadEnv sets.
func PreloadLimit() (int64, error) {
	v := os.Getenv(PreloadEnv)
	if v == "" {
		return defaultPreload << 20, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, fmt.Errorf("%s=%q: want a number of MiB from 0 to %d", PreloadEnv, v, 1<<20)
	}
	return n << 20, nil
}

// preload is the state of an image's preloaded tables.
type preload struct {
	start, end uint64      // the tables: [inode table, end of the directory table)
	limit      int64       // the bound on what blocks may hold
	blocks     *blockCache // never evicts: its size was bounded before use
	ready      atomic.Bool // blocks is in use: the bound was checked
	done       chan struct{}
	err        error        // why the tables were not preloaded, set before done
	loaded     atomic.Int64 // blocks decompressed by the preload itself
	total      int          // blocks in the tables, set before ready
}

// Preload starts preloading the inode and directory tables in the
// background when they may fit in limit bytes, and says whether it started.
// It must be called before the image serves requests; until the preload
// has checked the bound, requests read on demand.
func (img *Image) Preload(limit int64) (bool, error) {
	if limit <= 0 {
		return false, nil
	}
	end, err := img.tablesEnd()
	if err != nil {
		return false, err
	}
	start := img.sb.InodeTableStart
	if end-start > uint64(limit) {
		return false, nil // the compressed tables alone exceed the bound
	}
	p := &preload{start: start, end: end, limit: limit, blocks: newBlockCache(math.MaxInt), done: make(chan struct{})}
	img.tables = p
	go func() {
		defer close(p.done)
		p.err = img.fill(p)
	}()
	return true, nil
}

// fill reads the tables in one pass, checks the bound on their blocks, then
// decompresses every block on all CPUs but one.
func (img *Image) fill(p *preload) error {
	raw := make([]byte, p.end-p.start)
	if err := img.readAt(raw, p.start); err != nil {
		return err
	}
	pos, err := blockPositions(raw, p.start)
	if err != nil {
		return err
	}
	if int64(len(pos))*metaBlockSize > p.limit {
		return fmt.Errorf("%d metadata blocks exceed %s (%d MiB)", len(pos), PreloadEnv, p.limit>>20)
	}
	p.total = len(pos)
	p.ready.Store(true)
	var next atomic.Int64
	var wg sync.WaitGroup
	// One CPU is left to the requests: the container starts meanwhile.
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(pos)); i = next.Add(1) - 1 {
				at := pos[i]
				_, _, _ = p.blocks.get(at, func() ([]byte, uint64, error) {
					p.loaded.Add(1)
					return img.decodeMeta(raw[at-p.start:], at)
				})
			}
		})
	}
	wg.Wait()
	return nil
}

// blockPositions lists the metadata blocks of raw (the tables, at start in
// the image) by their headers.
func blockPositions(raw []byte, start uint64) ([]uint64, error) {
	var pos []uint64
	for off := 0; off < len(raw); {
		if off+2 > len(raw) {
			return nil, fmt.Errorf("%w: metadata block header cut at %d", ErrFormat, start+uint64(off))
		}
		size := int(binary.LittleEndian.Uint16(raw[off:]) & 0x7fff)
		if size == 0 || size > metaBlockSize || off+2+size > len(raw) {
			return nil, fmt.Errorf("%w: bad metadata block header at %d", ErrFormat, start+uint64(off))
		}
		pos = append(pos, start+uint64(off))
		off += 2 + size
	}
	return pos, nil
}

// tablesEnd returns where the directory table ends: at the first block or
// index of the tables that follow it (fragments, export, ids, xattrs),
// whichever comes first, as the kernel finds it.
func (img *Image) tablesEnd() (uint64, error) {
	sb := &img.sb
	end := sb.BytesUsed
	for _, t := range []uint64{sb.FragmentTableStart, sb.ExportTableStart, sb.IDTableStart, sb.XattrIDTableStart} {
		if t == sqfsformat.NoTable || t < sb.DirTableStart {
			continue
		}
		end = min(end, t)
		if t == sb.FragmentTableStart && sb.FragmentCount == 0 {
			continue // an empty index: no first block
		}
		var first [8]byte // the first block of the table (xattrs: the key/value stream)
		if err := img.readAt(first[:], t); err != nil {
			return 0, err
		}
		if f := binary.LittleEndian.Uint64(first[:]); f >= sb.DirTableStart {
			end = min(end, f)
		}
	}
	return end, nil
}

// tablesBlock returns the preloaded cache when pos is a block of the tables.
func (img *Image) tablesBlock(pos uint64) *blockCache {
	if p := img.tables; p != nil && pos >= p.start && pos < p.end && p.ready.Load() {
		return p.blocks
	}
	return nil
}
