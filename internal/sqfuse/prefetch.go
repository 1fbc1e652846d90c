package sqfuse

import (
	"runtime"
	"sync"
)

// Prefetching: the first read of a file decompresses the rest of the file
// on every CPU, in the background. Programs and libraries are read by page
// faults, one scattered 4 KiB-128 KiB request at a time, each waiting for
// one block to decompress: starting a program from a fresh mount (every
// `pcocc run` is one) was decompression-bound on one CPU. With the blocks
// decompressed ahead, most faults find theirs in the cache. Large files are
// left to the kernel's readahead: prefetching them whole would waste work
// on random access.
const (
	prefetchMaxBlocks = 128 // files of at most this many blocks (16 MiB at 128 KiB)
	prefetchQueue     = 4096
)

type prefetcher struct {
	mu      sync.Mutex
	jobs    chan prefetchJob // nil until the first prefetch
	stopped bool
	seen    map[uint64]bool // inode references already prefetched
}

type prefetchJob struct {
	in *inode
	i  int
}

// prefetch queues the blocks of in other than block skip, once per file.
// It never blocks: when the queue is full, blocks are left to the reads.
func (img *Image) prefetch(in *inode, skip int) {
	p := &img.pre
	if len(in.blocks) < 2 || len(in.blocks) > prefetchMaxBlocks {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.seen[in.ref] {
		return
	}
	if p.seen == nil {
		p.seen = make(map[uint64]bool)
		p.jobs = make(chan prefetchJob, prefetchQueue)
		for range runtime.GOMAXPROCS(0) {
			go img.prefetchWorker(p.jobs)
		}
	}
	p.seen[in.ref] = true
	for i := range in.blocks {
		if i == skip || in.blocks[i]&^blockUncompressed == 0 {
			continue
		}
		select {
		case p.jobs <- prefetchJob{in, i}:
		default:
			return
		}
	}
}

// stopPrefetch ends the workers once the mount is gone.
func (img *Image) stopPrefetch() {
	p := &img.pre
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped && p.jobs != nil {
		close(p.jobs)
	}
	p.stopped = true
}

func (img *Image) prefetchWorker(jobs <-chan prefetchJob) {
	bs := uint64(img.sb.BlockSize)
	for j := range jobs {
		n := int(min(bs, j.in.size-uint64(j.i)*bs))
		_, _ = img.dataBlock(j.in.blockAt[j.i], j.in.blocks[j.i], n) // errors surface on the real read
	}
}
