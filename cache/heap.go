package cache

import "sync/atomic"

// entry is one stored key. The map of its shard points to it until it is
// removed; a removed entry is never reused.
type entry[K comparable, V any] struct {
	key     K
	value   V     // written under Cache.mu and the shard lock; read under either
	created int64 // Unix nanoseconds of the last write; guarded like value
	expires int64 // Unix nanoseconds; 0 means never; guarded like value
	hits    atomic.Uint64
	seq     uint64 // write order (last Put); guarded by Cache.mu
	idx     int32  // position in the policy structure; guarded by Cache.mu
	expIdx  int32  // position in the expiry heap, -1 if absent; guarded by Cache.mu
	weight  int32  // Hooks.Weigher of the entry; guarded by Cache.mu
	neg     bool   // a remembered ErrNotFound, not a value; guarded like value
}

// expiredAt reports whether e is expired at now (Unix nanoseconds). An
// entry is expired from its ExpiresAt on.
func (e *entry[K, V]) expiredAt(now int64) bool {
	return e.expires != 0 && now >= e.expires
}

// policy is what a full cache asks for a victim. Every method is called
// with Cache.mu held.
type policy[K comparable, V any] interface {
	insert(e *entry[K, V]) // a new entry; e.hits and e.seq are set
	update(e *entry[K, V]) // e was overwritten: e.hits is 0, e.seq is new
	remove(e *entry[K, V])
	victim() *entry[K, V] // the entry to evict next, nil when empty
	reset()
}

// heapArity is the fan-out of both heaps: a 4-ary heap has half the
// levels of a binary one, and the four children share a cache line or two.
const heapArity = 4

// lfuSlot is a heap element: the entry and the (count, write order) key it
// was filed under. The recorded count may lag behind e.hits, never exceed it.
type lfuSlot[K comparable, V any] struct {
	e    *entry[K, V]
	hits uint64
	seq  uint64
}

func (a *lfuSlot[K, V]) less(b *lfuSlot[K, V]) bool {
	return a.hits < b.hits || a.hits == b.hits && a.seq < b.seq
}

// lfuHeap is the ExactLFU policy: a min-heap on (access count, write order)
// that is repaired lazily. Gets only raise counts and never touch the heap;
// a write resets the count and fixes its slot at once. So every recorded
// key is at most the entry's current key, and when the root's recorded key
// is current it is the true minimum. victim re-files a stale root with its
// current count and looks again: O(log n) per repair, each repair paid for
// by the Gets that raised the count.
type lfuHeap[K comparable, V any] struct {
	s []lfuSlot[K, V]
}

func (h *lfuHeap[K, V]) insert(e *entry[K, V]) {
	h.s = append(h.s, lfuSlot[K, V]{e: e, hits: e.hits.Load(), seq: e.seq})
	h.up(len(h.s) - 1)
}

func (h *lfuHeap[K, V]) update(e *entry[K, V]) {
	i := int(e.idx)
	h.s[i].hits = e.hits.Load()
	h.s[i].seq = e.seq
	h.fix(i)
}

func (h *lfuHeap[K, V]) remove(e *entry[K, V]) {
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
	for len(h.s) > 0 {
		root := &h.s[0]
		cur := root.e.hits.Load()
		if cur == root.hits {
			return root.e
		}
		root.hits = cur
		h.down(0)
	}
	return nil
}

func (h *lfuHeap[K, V]) reset() {
	clear(h.s)
	h.s = h.s[:0]
}

func (h *lfuHeap[K, V]) fix(i int) {
	if i > 0 && h.s[i].less(&h.s[(i-1)/heapArity]) {
		h.up(i)
	} else {
		h.down(i)
	}
}

func (h *lfuHeap[K, V]) up(i int) {
	x := h.s[i]
	for i > 0 {
		p := (i - 1) / heapArity
		if ph := h.s[p].hits; x.hits > ph || x.hits == ph && x.seq > h.s[p].seq {
			break
		}
		h.s[i] = h.s[p]
		h.s[i].e.idx = int32(i)
		i = p
	}
	h.s[i] = x
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
		m := c
		mh, ms := s[c].hits, s[c].seq
		for j := c + 1; j < c+heapArity && j < n; j++ {
			if jh := s[j].hits; jh < mh || jh == mh && s[j].seq < ms {
				m, mh, ms = j, jh, s[j].seq
			}
		}
		if x.hits < mh || x.hits == mh && x.seq < ms {
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
