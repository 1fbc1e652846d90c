package sqfuse

import (
	"container/list"
	"sync"
)

// blockCache keeps decompressed blocks by their position in the image, least
// recently used first out, within a byte budget. Concurrent requests for a
// block that is being decompressed wait for it instead of decompressing it
// again (the kernel's readahead and many small files sharing one fragment
// block both ask for the same block at once).
type blockCache struct {
	mu     sync.Mutex
	budget int
	used   int
	byPos  map[uint64]*list.Element
	lru    list.List // of *cached, most recent at the front
}

type cached struct {
	pos   uint64
	data  []byte
	next  uint64 // metadata blocks: position of the next block
	err   error
	ready chan struct{} // closed when data or err is set
}

func newBlockCache(budget int) *blockCache {
	return &blockCache{budget: budget, byPos: make(map[uint64]*list.Element)}
}

// get returns the block at pos, calling load (once, whoever asks) when it is
// not cached. Failed loads are not kept. The returned slice is shared: the
// caller must not modify it.
func (c *blockCache) get(pos uint64, load func() ([]byte, uint64, error)) ([]byte, uint64, error) {
	c.mu.Lock()
	if el, ok := c.byPos[pos]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cached)
		c.mu.Unlock()
		<-e.ready
		return e.data, e.next, e.err
	}
	e := &cached{pos: pos, ready: make(chan struct{})}
	c.byPos[pos] = c.lru.PushFront(e)
	c.mu.Unlock()

	e.data, e.next, e.err = load()
	close(e.ready)

	c.mu.Lock()
	defer c.mu.Unlock()
	if e.err != nil {
		if el, ok := c.byPos[pos]; ok && el.Value == e {
			c.lru.Remove(el)
			delete(c.byPos, pos)
		}
		return nil, 0, e.err
	}
	c.used += cap(e.data)
	for c.used > c.budget && c.lru.Len() > 1 {
		el := c.lru.Back()
		old := el.Value.(*cached)
		select {
		case <-old.ready:
		default:
			return e.data, e.next, nil // the oldest is still loading: evict later
		}
		c.lru.Remove(el)
		delete(c.byPos, old.pos)
		c.used -= cap(old.data)
	}
	return e.data, e.next, nil
}

// inodeCache keeps parsed inodes by reference. Inodes are small and the
// kernel asks for each at most a few times (it caches them without expiry),
// so a bounded map that is emptied when full is enough.
type inodeCache struct {
	mu    sync.RWMutex
	max   int
	byRef map[uint64]*inode
}

func newInodeCache(max int) *inodeCache {
	return &inodeCache{max: max, byRef: make(map[uint64]*inode)}
}

func (c *inodeCache) get(ref uint64) *inode {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byRef[ref]
}

func (c *inodeCache) put(ref uint64, in *inode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byRef) >= c.max {
		clear(c.byRef)
	}
	c.byRef[ref] = in
}

// dirCache keeps parsed directory listings by the directory's inode
// reference, within a budget of entries, emptied when full.
type dirCache struct {
	mu      sync.RWMutex
	max     int
	entries int
	byRef   map[uint64][]dirEntry
}

func newDirCache(max int) *dirCache {
	return &dirCache{max: max, byRef: make(map[uint64][]dirEntry)}
}

func (c *dirCache) get(ref uint64) ([]dirEntry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.byRef[ref]
	return d, ok
}

func (c *dirCache) put(ref uint64, d []dirEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries+len(d) > c.max {
		clear(c.byRef)
		c.entries = 0
	}
	c.byRef[ref] = d
	c.entries += len(d)
}
