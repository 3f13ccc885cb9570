package cache

import (
	"runtime"
	"sync"
	"unsafe"
)

// Every Get counts an access to its entry exactly (ExactLFU evicts by
// these counts, and Peek and Save report them). An atomic add on the
// entry itself is exact but, under a skewed load, makes the few hottest
// entries' cache lines bounce between cores on every read: two cores then
// read no faster than one (measured: 36–48 ns per Get at 2 CPUs against
// 17 ns with the add left out). So with more than one P, a Get adds its
// access to a small table of pending counts in one of several stripes,
// picked by the goroutine's stack address (stable while a goroutine runs,
// different for goroutines that run at the same time, as otter picks its
// striped counters), where it stays on the core's own cache line; a slot
// taken by another entry is flushed into that entry first. Anything that
// reads a count (the eviction heap, Peek, Save) first flushes the entry's
// pending counts into it, and an overwrite discards them with the count.
// A reader never waits: when its stripe is busy it adds to the entry
// directly. The top byte of entry.hits counts the slots holding the entry,
// so reading the count of an entry no slot holds (a cold entry, such as
// the eviction heap's usual victim) takes no stripe lock.

const (
	holderOne = 1 << 56       // one slot holding the entry, in entry.hits
	countMask = holderOne - 1 // the access count, in entry.hits
)

const (
	countSlotBits = 6
	countSlots    = 1 << countSlotBits // per stripe, direct-mapped by entry address
)

type countSlot[K comparable, V any] struct {
	e *entry[K, V]
	n uint64
}

type countStripe[K comparable, V any] struct {
	mu    sync.Mutex // guards slots
	slots [countSlots]countSlot[K, V]
	_     [56]byte // keep the next stripe's lock off this stripe's last line
}

type pendingCounts[K comparable, V any] struct {
	stripes []countStripe[K, V]
	shift   uint32 // 32 - log2(len(stripes))
}

// newPendingCounts returns the stripes for the current GOMAXPROCS, or nil
// with one P, where a direct add has no other core to contend with.
func newPendingCounts[K comparable, V any]() *pendingCounts[K, V] {
	p := runtime.GOMAXPROCS(0)
	if p <= 1 {
		return nil
	}
	bits := uint32(1)
	for 1<<bits < 2*p && bits < 6 {
		bits++ // 2 per P: few running readers share a stripe, few locks to flush
	}
	return &pendingCounts[K, V]{stripes: make([]countStripe[K, V], 1<<bits), shift: 32 - bits}
}

func slotOf[K comparable, V any](e *entry[K, V]) uint64 {
	return (uint64(uintptr(unsafe.Pointer(e))) * 0x9e3779b97f4a7c15) >> (64 - countSlotBits)
}

// countHit counts one access to e. The caller holds e's shard read lock,
// which orders the count against an overwrite's reset.
func (c *Cache[K, V]) countHit(e *entry[K, V]) {
	pc := c.counts
	if pc == nil {
		e.hits.Add(1)
		return
	}
	s := &pc.stripes[stackHash()>>pc.shift]
	if !s.mu.TryLock() {
		e.hits.Add(1)
		return
	}
	sl := &s.slots[slotOf(e)]
	if sl.e != e {
		if sl.e != nil {
			sl.e.hits.Add(sl.n - holderOne) // its counts, and one holder less
		}
		e.hits.Add(holderOne)
		sl.e, sl.n = e, 0
	}
	sl.n++
	s.mu.Unlock()
}

// hitsOf returns e's exact access count, moving its pending counts into it.
func (c *Cache[K, V]) hitsOf(e *entry[K, V]) uint64 {
	if h := e.hits.Load(); h < holderOne {
		return h
	}
	c.takePending(e, true)
	return e.hits.Load() & countMask
}

// takePending empties e's pending counts, adding them to e when keep is
// set and dropping them otherwise (an overwrite resets the count).
func (c *Cache[K, V]) takePending(e *entry[K, V], keep bool) {
	pc := c.counts
	if pc == nil || e.hits.Load() < holderOne {
		return
	}
	i := slotOf(e)
	for j := range pc.stripes {
		s := &pc.stripes[j]
		s.mu.Lock()
		if sl := &s.slots[i]; sl.e == e {
			n := uint64(0)
			if keep {
				n = sl.n
			}
			e.hits.Add(n - holderOne)
			sl.e, sl.n = nil, 0
		}
		s.mu.Unlock()
	}
}

// clearPending drops every pending count (Clear and Load replace every
// entry, and the stripes would otherwise keep the old ones reachable).
// The dropped entries' holder counts are left as they are: they are no
// longer in the cache.
func (c *Cache[K, V]) clearPending() {
	if c.counts == nil {
		return
	}
	for j := range c.counts.stripes {
		s := &c.counts.stripes[j]
		s.mu.Lock()
		clear(s.slots[:])
		s.mu.Unlock()
	}
}
