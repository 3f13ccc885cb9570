package cache

import (
	"math/rand/v2"
	"sync"
)

// Reads under WTinyLFU must reach the policy, which lives under Cache.mu,
// but a Get must not wait for that lock. So a Get appends the entry to one
// of several small buffers and whoever fills a buffer applies it if Cache.mu
// is free; when it is not, or the buffer's own lock is busy, the read is
// dropped. Dropping a few reads only blurs recency and frequency, which
// the policy approximates anyway; ExactLFU's counts do not go through here.

const (
	readStripeBits = 4
	readStripes    = 1 << readStripeBits
	readBufLen     = 32
)

type readStripe[K comparable, V any] struct {
	mu  sync.Mutex // guards buf and n
	buf [readBufLen]*entry[K, V]
	n   int
	_   [64]byte
}

type readBuffer[K comparable, V any] struct {
	stripes [readStripes]readStripe[K, V]
}

func newReadBuffer[K comparable, V any]() *readBuffer[K, V] {
	return &readBuffer[K, V]{}
}

// recordRead queues a read of e for the policy, in the calling goroutine's
// stripe (see homeStripe); if another goroutine holds that one, in a
// stripe picked at random, and if that is busy too the read is dropped.
func (c *Cache[K, V]) recordRead(e *entry[K, V]) {
	s := &c.reads.stripes[homeStripe()]
	if !s.mu.TryLock() {
		s = &c.reads.stripes[rand.Uint32()&(readStripes-1)]
		if !s.mu.TryLock() {
			return
		}
	}
	s.buf[s.n] = e
	s.n++
	if s.n == readBufLen {
		if c.mu.TryLock() {
			c.applyReads(s)
			c.mu.Unlock()
		} else {
			clear(s.buf[:]) // dropped; keep no removed entry alive
			s.n = 0
		}
	}
	s.mu.Unlock()
}

// homeStripe picks a stripe from the address of the calling goroutine's
// stack (stackHash), as otter does; not from the key, or a hot key's reads
// would all contend for one stripe, and not at random per read, or a
// goroutine's reads would reach the policy shuffled (by up to 16×32
// reads) when its LRU lists depend on their order: on a loop twice the
// cache's size, shuffled reads cost W-TinyLFU 6 points of hit ratio.
func homeStripe() uint32 { return stackHash() >> (32 - readStripeBits) }

// applyReads hands s's reads to the policy. The caller holds c.mu and s.mu.
func (c *Cache[K, V]) applyReads(s *readStripe[K, V]) {
	t := c.pol.(*tinyLFU[K, V])
	for i, e := range s.buf[:s.n] {
		t.access(e)
		s.buf[i] = nil
	}
	s.n = 0
}

// drainReads applies every buffer it can lock. The caller holds c.mu.
func (c *Cache[K, V]) drainReads() {
	for i := range c.reads.stripes {
		s := &c.reads.stripes[i]
		if s.mu.TryLock() {
			c.applyReads(s)
			s.mu.Unlock()
		}
	}
}
