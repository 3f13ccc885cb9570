package cache

import (
	"cmp"
	"math"
	"slices"
	"sync/atomic"
)

// entry is one stored key. The map of its shard points to it until it is
// removed; a removed entry is never reused. It is kept to 64 bytes for
// string keys and values: write order lives in the policy, weights in
// Cache.weights.
type entry[K comparable, V any] struct {
	key     K
	value   V     // written under Cache.mu and the shard lock; read under either
	created int64 // Unix nanoseconds of the last write, negMark for a remembered ErrNotFound; guarded like value
	expires int64 // Unix nanoseconds; 0 means never; guarded like value
	hits    atomic.Uint64
	idx     int32 // position in the policy structure (see queued), -1 once removed; guarded by Cache.mu
	expIdx  int32 // position in the expiry heap, -1 if absent; guarded by Cache.mu
}

// negMark in entry.created marks a remembered ErrNotFound rather than a
// value.
const negMark = math.MinInt64

func (e *entry[K, V]) neg() bool { return e.created == negMark }

// expiredAt reports whether e is expired at now (Unix nanoseconds). An
// entry is expired from its ExpiresAt on.
func (e *entry[K, V]) expiredAt(now int64) bool {
	return e.expires != 0 && now >= e.expires
}

// policy is what a full cache asks for a victim. Every method is called
// with Cache.mu held.
type policy[K comparable, V any] interface {
	insert(e *entry[K, V]) // a new entry, the newest write; e.hits is set
	update(e *entry[K, V]) // e was overwritten: e.hits is 0, it is the newest write
	remove(e *entry[K, V])
	victim() *entry[K, V]        // the entry to evict next, nil when empty
	order(e *entry[K, V]) uint64 // increases with the time of e's last write
	reset()
}

// heapArity is the fan-out of both heaps: a 4-ary heap has half the
// levels of a binary one, and the four children share a cache line or two.
const heapArity = 4

// lfuSlot is a heap element: the entry and the key it was filed under,
// its access count (saturated at 2^32-1) in the high half and its write
// order in the low half, so that one integer comparison orders slots by
// (count, write order). The recorded count may lag behind e.hits, never
// exceed it.
type lfuSlot[K comparable, V any] struct {
	e   *entry[K, V]
	key uint64
}

const maxRecorded = math.MaxUint32

func recorded(hits uint64) uint64 { return min(hits, maxRecorded) }

// lfuHeap is the ExactLFU policy: a min-heap on (access count, write order)
// that is repaired lazily, beside a queue of the entries filed with a
// count of 0 (coldQueue, in write order). Gets only raise counts and never
// touch either; a write resets the count and files its entry at once. So
// every recorded key is at most the entry's current key, and when the
// smaller of the heap's root and the queue's head is current it is the
// true minimum. victim re-files a stale root or head with its current
// count and looks again: O(log n) per repair, each repair paid for by the
// Gets that raised the count. Counts beyond 2^32-1 compare equal (write
// order decides among them).
type lfuHeap[K comparable, V any] struct {
	s []lfuSlot[K, V]
	q coldQueue[K, V]
	// wseq counts writes, overwrites without Cache.mu included (see
	// writes.go); write order w is filed as w - base, in 32 bits.
	wseq   *atomic.Uint64
	base   uint64
	seqMax uint64 // renumber when w - base reaches half of it (a variable for tests)
	max    int    // capacity the slots grow to, at most
	// hits returns an entry's exact access count (Cache.hitsOf, which
	// first adds the counts still pending in the stripes).
	hits func(*entry[K, V]) uint64
}

func newLFUHeap[K comparable, V any](maxSize int, hits func(*entry[K, V]) uint64, wseq *atomic.Uint64) *lfuHeap[K, V] {
	h := &lfuHeap[K, V]{seqMax: math.MaxUint32, max: maxSize, hits: hits, wseq: wseq}
	h.q.max = maxSize
	return h
}

// renumber rewrites the write orders as 1..n keeping their order, which
// keeps the heap and the queue valid, and moves base so that the next
// write files as n+1. It runs once per 2^31 writes, with no write in
// flight.
func (h *lfuHeap[K, V]) renumber() {
	keys := make([]*uint64, 0, len(h.s)+h.q.n-h.q.dead)
	for i := range h.s {
		keys = append(keys, &h.s[i].key)
	}
	h.q.all(func(s *lfuSlot[K, V]) { keys = append(keys, &s.key) })
	slices.SortStableFunc(keys, func(a, b *uint64) int {
		return cmp.Compare(uint32(*a), uint32(*b))
	})
	for n, k := range keys {
		*k = *k&^maxRecorded | uint64(n+1)
	}
	h.base = h.wseq.Load() - uint64(len(keys))
}

func (h *lfuHeap[K, V]) insert(e *entry[K, V]) {
	seq := h.wseq.Add(1) - h.base
	h.add(e, recorded(e.hits.Load()&countMask)<<32|seq)
}

// add files e, in neither the heap nor the queue, under key k: at the
// queue's tail if that keeps the queue in order, else in the heap.
func (h *lfuHeap[K, V]) add(e *entry[K, V], k uint64) {
	if h.q.accepts(k) && h.q.push(lfuSlot[K, V]{e: e, key: k}) {
		return
	}
	h.push(lfuSlot[K, V]{e: e, key: k})
}

// push adds s to the heap.
func (h *lfuHeap[K, V]) push(s lfuSlot[K, V]) {
	if len(h.s) == cap(h.s) {
		// Grow to at most the cache's capacity, so that a full cache
		// wastes no slots.
		n := max(min(2*cap(h.s), h.max), len(h.s)+1, 16)
		h.s = slices.Grow(h.s, n-len(h.s))
	}
	h.s = append(h.s, s)
	h.up(len(h.s) - 1)
}

func (h *lfuHeap[K, V]) update(e *entry[K, V]) { h.file(e, h.wseq.Add(1)) }

// file re-files e, written at write order w, with its current count. Its
// records may arrive out of order (an overwrite's record drained after a
// later write under Cache.mu), so the latest write order stays.
func (h *lfuHeap[K, V]) file(e *entry[K, V], w uint64) {
	old := h.slot(e).key
	k := recorded(e.hits.Load()&countMask)<<32 | max(w-h.base, old&maxRecorded)
	switch {
	case k == old:
	case e.idx >= 0 && !h.q.accepts(k):
		i := int(e.idx)
		h.s[i].key = k
		h.fix(i)
	default:
		h.remove(e)
		h.add(e, k)
	}
}

// slot returns e's slot in the heap or the queue.
func (h *lfuHeap[K, V]) slot(e *entry[K, V]) *lfuSlot[K, V] {
	if e.idx >= 0 {
		return &h.s[e.idx]
	}
	return &h.q.r[position(e.idx)]
}

func (h *lfuHeap[K, V]) order(e *entry[K, V]) uint64 {
	return h.slot(e).key & maxRecorded
}

func (h *lfuHeap[K, V]) remove(e *entry[K, V]) {
	if e.idx < 0 {
		h.q.remove(e)
		return
	}
	i, last := int(e.idx), len(h.s)-1
	if i != last {
		h.s[i] = h.s[last]
		h.s[i].e.idx = int32(i)
	}
	h.s[last] = lfuSlot[K, V]{}
	h.s = h.s[:last]
	if i < last {
		h.fix(i)
	}
	e.idx = -1
}

func (h *lfuHeap[K, V]) victim() *entry[K, V] {
	// A queued entry read since it was filed joins the heap with its
	// count; the heap's root is re-filed in place.
	for h.q.n > 0 {
		s := *h.q.first()
		cur := recorded(h.hits(s.e))
		if cur == 0 {
			break
		}
		h.q.pop()
		h.push(lfuSlot[K, V]{e: s.e, key: cur<<32 | s.key&maxRecorded})
	}
	for len(h.s) > 0 {
		root := &h.s[0]
		cur := recorded(h.hits(root.e))
		if cur == root.key>>32 {
			break
		}
		root.key = cur<<32 | root.key&maxRecorded
		h.down(0)
	}
	switch {
	case h.q.n > 0 && (len(h.s) == 0 || h.q.first().key < h.s[0].key):
		return h.q.first().e
	case len(h.s) > 0:
		return h.s[0].e
	}
	return nil
}

func (h *lfuHeap[K, V]) reset() {
	clear(h.s)
	h.s = h.s[:0]
	h.q.reset()
}

func (h *lfuHeap[K, V]) fix(i int) {
	if i > 0 && h.s[i].key < h.s[(i-1)/heapArity].key {
		h.up(i)
	} else {
		h.down(i)
	}
}

func (h *lfuHeap[K, V]) up(i int) {
	s := h.s
	x := s[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if x.key >= s[p].key {
			break
		}
		s[i] = s[p]
		s[i].e.idx = int32(i)
		i = p
	}
	s[i] = x
	x.e.idx = int32(i)
}

func (h *lfuHeap[K, V]) down(i int) {
	s := h.s
	n := len(s)
	x := s[i]
	for {
		c := heapArity*i + 1
		if c >= n {
			break
		}
		m, mk := c, s[c].key
		for j := c + 1; j < c+heapArity && j < n; j++ {
			if s[j].key < mk {
				m, mk = j, s[j].key
			}
		}
		if x.key <= mk {
			break
		}
		s[i] = s[m]
		s[i].e.idx = int32(i)
		i = m
	}
	s[i] = x
	x.e.idx = int32(i)
}

// expSlot is an expiry heap element.
type expSlot[K comparable, V any] struct {
	e  *entry[K, V]
	at int64
}

// expHeap is a min-heap of the entries that expire, on their expiry time,
// so that "expired first" and PurgeExpired cost O(log n) per entry removed.
type expHeap[K comparable, V any] struct {
	s []expSlot[K, V]
}

// set files e under its current expiry, or takes it out if it has none.
func (h *expHeap[K, V]) set(e *entry[K, V]) {
	switch {
	case e.expIdx < 0 && e.expires != 0:
		h.s = append(h.s, expSlot[K, V]{e: e, at: e.expires})
		h.up(len(h.s) - 1)
	case e.expIdx >= 0 && e.expires == 0:
		h.remove(e)
	case e.expIdx >= 0:
		i := int(e.expIdx)
		h.s[i].at = e.expires
		if i > 0 && h.s[i].at < h.s[(i-1)/heapArity].at {
			h.up(i)
		} else {
			h.down(i)
		}
	}
}

// min returns the entry that expires first, or nil.
func (h *expHeap[K, V]) min() *entry[K, V] {
	if len(h.s) == 0 {
		return nil
	}
	return h.s[0].e
}

func (h *expHeap[K, V]) remove(e *entry[K, V]) {
	i, last := int(e.expIdx), len(h.s)-1
	if i < 0 {
		return
	}
	if i != last {
		h.s[i] = h.s[last]
		h.s[i].e.expIdx = int32(i)
	}
	h.s[last] = expSlot[K, V]{}
	h.s = h.s[:last]
	if i < last {
		if i > 0 && h.s[i].at < h.s[(i-1)/heapArity].at {
			h.up(i)
		} else {
			h.down(i)
		}
	}
	e.expIdx = -1
}

func (h *expHeap[K, V]) reset() {
	clear(h.s)
	h.s = h.s[:0]
}

func (h *expHeap[K, V]) up(i int) {
	x := h.s[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if x.at >= h.s[p].at {
			break
		}
		h.s[i] = h.s[p]
		h.s[i].e.expIdx = int32(i)
		i = p
	}
	h.s[i] = x
	x.e.expIdx = int32(i)
}

func (h *expHeap[K, V]) down(i int) {
	n := len(h.s)
	x := h.s[i]
	for {
		c := heapArity*i + 1
		if c >= n {
			break
		}
		m := c
		for j := c + 1; j < c+heapArity && j < n; j++ {
			if h.s[j].at < h.s[m].at {
				m = j
			}
		}
		if h.s[m].at >= x.at {
			break
		}
		h.s[i] = h.s[m]
		h.s[i].e.expIdx = int32(i)
		i = m
	}
	h.s[i] = x
	x.e.expIdx = int32(i)
}
