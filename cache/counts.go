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
// directly.

const countSlots = 64 // per stripe, direct-mapped by entry address

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
	for 1<<bits < 4*p && bits < 6 {
		bits++ // 4 per P: two running readers rarely share a stripe
	}
	return &pendingCounts[K, V]{stripes: make([]countStripe[K, V], 1<<bits), shift: 32 - bits}
}

func slotOf[K comparable, V any](e *entry[K, V]) uint64 {
	return (uint64(uintptr(unsafe.Pointer(e))) * 0x9e3779b97f4a7c15) >> (64 - 6)
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
			sl.e.hits.Add(sl.n)
		}
		sl.e, sl.n = e, 0
	}
	sl.n++
	s.mu.Unlock()
}

// hitsOf returns e's exact access count, moving its pending counts into it.
func (c *Cache[K, V]) hitsOf(e *entry[K, V]) uint64 {
	c.takePending(e, true)
	return e.hits.Load()
}

// takePending empties e's pending counts, adding them to e when keep is
// set and dropping them otherwise (an overwrite resets the count).
func (c *Cache[K, V]) takePending(e *entry[K, V], keep bool) {
	pc := c.counts
	if pc == nil {
		return
	}
	i := slotOf(e)
	for j := range pc.stripes {
		s := &pc.stripes[j]
		s.mu.Lock()
		if sl := &s.slots[i]; sl.e == e {
			if keep {
				e.hits.Add(sl.n)
			}
			sl.e, sl.n = nil, 0
		}
		s.mu.Unlock()
	}
}

// clearPending drops every pending count (Clear and Load replace every
// entry, and the stripes would otherwise keep the old ones reachable).
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
