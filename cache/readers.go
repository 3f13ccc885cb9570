package cache

import (
	"runtime"
	"sync"
	"unsafe"
)

// Readers and writers meet at a striped reader lock. The shards are split
// into groups, and each group has one lock per stripe; a Get locks the
// lock of its key's group in its own stripe, picked by the P it runs on
// (procID: one stripe per P, so that readers running at the same time
// never share one), so that the lock's cache line stays on the reader's
// core. With one lock per shard instead, two cores reading took each
// other's shard lines half the time and two cores read slower than one
// (measured: 60 ns per Get at 2 CPUs against 40 ns at 1). A writer of a
// group holds the group's locks in every stripe (lockGroup), for as long
// as its change takes and no longer, and readers of the other groups never
// wait for it.
//
// The rules: a shard's table and the fields of its entries may be read
// holding any lock of the shard's group and written only holding all of
// them; tables change only under Cache.mu too (inserts and removals), and
// the policy and expiry heaps live under Cache.mu alone. An overwrite of
// a stored key may run without Cache.mu (see writes.go).
//
// The lock also counts the Get. Hit and miss counters live next to it,
// and each access to an entry adds to a small table of pending counts
// there, on the core's own cache line: an atomic add on the entry would
// make the few hottest entries' lines bounce between cores on every read.
// A slot taken by another entry is flushed into that entry first.
// Anything that reads a count (the eviction heap, Peek, Save) first
// flushes the entry's pending counts into it (hitsOf), and an overwrite
// discards them with the count. The top byte of entry.hits counts the
// slots holding the entry, so reading the count of an entry no slot holds
// (a cold entry, such as the eviction heap's usual victim) takes no lock.
// With one stripe (GOMAXPROCS 1 when the cache was made) there is no
// other core to contend with, and a Get adds to the entry directly.

const (
	holderOne = 1 << 56       // one slot holding the entry, in entry.hits
	countMask = holderOne - 1 // the access count, in entry.hits
)

const (
	// 32 slots per lock, two-way, 32 groups at 2 Ps: 1,024 pending
	// counts per core. A hot entry without a slot is counted on its own
	// line, which every core reading it then has to fetch again: with 16
	// direct-mapped slots per lock, reads of 512 hot keys at 2 CPUs
	// (BenchmarkCacheHotReads) took twice as long.
	countSlotBits = 5
	countSlots    = 1 << countSlotBits // per lock, two-way set-associative by entry address

	stripeLocks = 64 // stripes × groups
	maxStripes  = 16
)

type countSlot[K comparable, V any] struct {
	e *entry[K, V]
	n uint64 // e's pending count; in the top byte, other entries' requests since e's last access
}

const (
	slotConflict = 1 << 56
	slotCount    = slotConflict - 1
	slotTakeover = 4 * slotConflict
)

// readerLock is one group's lock in one stripe: 576 bytes, so that no two
// share a cache line.
type readerLock[K comparable, V any] struct {
	mu           sync.Mutex
	hits, misses uint64
	slots        [countSlots]countSlot[K, V] // unused with one stripe
	_            [40]byte
}

// locks is the striped reader lock: stripes × groups readerLocks, stripe
// major.
type locks[K comparable, V any] struct {
	l          []readerLock[K, V]
	groups     uint64 // a power of two; shard i is in group i & (groups-1)
	stripeMask uint64 // stripes - 1: P p reads in stripe p & stripeMask
}

// newLocks sizes the lock for the current GOMAXPROCS: a stripe per P
// (rounded up to a power of two, at most 16: beyond that Ps share
// stripes), and as many groups as make 64 locks in all. A GOMAXPROCS
// raised later makes Ps share stripes, which costs time, not correctness.
func newLocks[K comparable, V any]() locks[K, V] {
	p := runtime.GOMAXPROCS(0)
	stripes := 1
	for stripes < p && stripes < maxStripes {
		stripes *= 2
	}
	return locks[K, V]{
		l:          make([]readerLock[K, V], stripeLocks),
		groups:     uint64(stripeLocks / stripes),
		stripeMask: uint64(stripes - 1),
	}
}

func (c *Cache[K, V]) stripes() uint64 { return uint64(len(c.locks.l)) / c.locks.groups }

// groupOf returns the group of the shard of a key with hash h.
func (c *Cache[K, V]) groupOf(h uint64) uint64 { return h & (c.locks.groups - 1) }

// reader returns the calling goroutine's lock for group g.
func (c *Cache[K, V]) reader(g uint64) *readerLock[K, V] {
	if c.locks.groups == stripeLocks {
		return &c.locks.l[g]
	}
	return &c.locks.l[(procID()&c.locks.stripeMask)*c.locks.groups+g]
}

// lockGroup waits for every reader and writer of group g to leave and
// keeps new ones out.
func (c *Cache[K, V]) lockGroup(g uint64) {
	for i := g; i < uint64(len(c.locks.l)); i += c.locks.groups {
		c.locks.l[i].mu.Lock()
	}
}

func (c *Cache[K, V]) unlockGroup(g uint64) {
	for i := g; i < uint64(len(c.locks.l)); i += c.locks.groups {
		c.locks.l[i].mu.Unlock()
	}
}

// lockAll locks every group, in the order lockGroup takes them.
func (c *Cache[K, V]) lockAll() {
	for g := range c.locks.groups {
		c.lockGroup(g)
	}
}

func (c *Cache[K, V]) unlockAll() {
	for g := range c.locks.groups {
		c.unlockGroup(g)
	}
}

func slotOf[K comparable, V any](e *entry[K, V]) uint64 {
	return (uint64(uintptr(unsafe.Pointer(e))) * 0x9e3779b97f4a7c15) >> (64 - countSlotBits)
}

// countHit counts one access to e. The caller holds l.mu, l being a lock
// of e's group.
func (c *Cache[K, V]) countHit(l *readerLock[K, V], e *entry[K, V]) {
	l.hits++
	if c.locks.groups == stripeLocks {
		e.hits.Add(1)
		return
	}
	// Two-way: e's count may be in the slot its address picks or in the
	// next one of the pair, never in both.
	i := slotOf(e)
	sl := &l.slots[i]
	if alt := &l.slots[i^1]; sl.e != e && (alt.e == e || sl.e != nil && alt.e == nil) {
		sl = alt
	}
	switch {
	case sl.e == e:
		sl.n = sl.n&slotCount + 1 // and no conflict since
		return
	case sl.e != nil && sl.n < slotTakeover:
		// The slot stays with its entry, likely the hotter one, until
		// other entries have asked for it a few times in a row: taking
		// it writes two entries' lines, adding to e writes one.
		sl.n += slotConflict
		e.hits.Add(1)
		return
	case sl.e != nil:
		sl.e.hits.Add(sl.n&slotCount - holderOne) // its counts, and one holder less
	}
	e.hits.Add(holderOne)
	sl.e, sl.n = e, 1
}

// hitsOf returns e's exact access count, moving its pending counts into
// it. The caller holds no lock of e's group.
func (c *Cache[K, V]) hitsOf(e *entry[K, V]) uint64 {
	if h := e.hits.Load(); h < holderOne {
		return h
	}
	g := c.groupOf(c.hash(e.key))
	c.lockGroup(g)
	c.takePending(e, g, true)
	c.unlockGroup(g)
	return e.hits.Load() & countMask
}

// takePending empties e's pending counts, adding them to e when keep is
// set and dropping them otherwise (an overwrite resets the count). The
// caller holds every lock of e's group g.
func (c *Cache[K, V]) takePending(e *entry[K, V], g uint64, keep bool) {
	if e.hits.Load() < holderOne {
		return
	}
	i := slotOf(e)
	for j := g; j < uint64(len(c.locks.l)); j += c.locks.groups {
		sl := &c.locks.l[j].slots[i]
		if sl.e != e {
			sl = &c.locks.l[j].slots[i^1]
		}
		if sl.e == e {
			n := uint64(0)
			if keep {
				n = sl.n & slotCount
			}
			e.hits.Add(n - holderOne)
			sl.e, sl.n = nil, 0
		}
	}
}

// clearPending drops every pending count (Clear and Load replace every
// entry, and the slots would otherwise keep the old ones reachable). The
// dropped entries' holder counts are left as they are: they are no longer
// in the cache. The caller holds every lock.
func (c *Cache[K, V]) clearPending() {
	for j := range c.locks.l {
		clear(c.locks.l[j].slots[:])
	}
}

// readerCounts returns the hits and misses the locks counted.
func (c *Cache[K, V]) readerCounts() (hits, misses uint64) {
	for i := range c.locks.l {
		l := &c.locks.l[i]
		l.mu.Lock()
		hits += l.hits
		misses += l.misses
		l.mu.Unlock()
	}
	return hits, misses
}
