package cache

import (
	"hash/maphash"
	"math"
	"math/bits"
	"math/rand/v2"
)

// W-TinyLFU, after Einziger, Friedman and Manes, "TinyLFU: A Highly
// Efficient Cache Admission Policy" (2017), with Caffeine's hill climber
// sizing the window. New entries enter a small LRU window; entries pushed
// out of it become candidates for the main space, a segmented LRU
// (probation and protected). A candidate is admitted only if the frequency
// sketch says it is used more often than the probation segment's LRU
// victim; otherwise the candidate itself is evicted.

// sketchStart is the sketch's initial size in counters words; it grows
// with the entries up to MaxSize.
const sketchStart = 1024

// Lists a node can be on.
const (
	inWindow uint8 = iota
	inProbation
	inProtected
)

// tnode is a W-TinyLFU list node; nodes live in one slice and link by
// index, so the entry only stores its node's index (entry.idx).
type tnode[K comparable, V any] struct {
	e          *entry[K, V]
	h          uint64 // hash of the key, for the sketch
	seq        uint64 // write order
	prev, next int32  // -1 ends a list
	list       uint8
}

// tlist is a doubly linked list of nodes; head is the most recently used.
type tlist struct {
	head, tail int32
	n          int
}

type tinyLFU[K comparable, V any] struct {
	seed   maphash.Seed
	nodes  []tnode[K, V]
	free   []int32
	lists  [3]tlist
	max    int // entries the cache may hold
	seq    uint64
	winMax int // window size, tuned by the climber
	proMax int // protected segment size
	sketch sketch

	// Hill climbing: sample the hit rate, move the window size in the
	// direction that raised it, with a decaying step.
	hits, misses int
	prevRate     float64
	step         float64
	sample       int
}

func newTinyLFU[K comparable, V any](maxSize int) *tinyLFU[K, V] {
	t := &tinyLFU[K, V]{seed: maphash.MakeSeed(), max: maxSize}
	t.setWindow(max(1, maxSize/100))
	t.step = -0.0625 * float64(maxSize) // start by shrinking, as Caffeine
	t.sample = max(10*maxSize, 1000)
	t.sketch.init(min(maxSize, sketchStart))
	for i := range t.lists {
		t.lists[i] = tlist{-1, -1, 0}
	}
	return t
}

func (t *tinyLFU[K, V]) setWindow(w int) {
	t.winMax = min(max(w, 1), max(t.max-1, 1))
	t.proMax = int(0.8 * float64(t.max-t.winMax))
}

func (t *tinyLFU[K, V]) insert(e *entry[K, V]) {
	var i int32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		t.nodes = append(t.nodes, tnode[K, V]{})
		i = int32(len(t.nodes) - 1)
	}
	if live := len(t.nodes) - len(t.free); live > len(t.sketch.table) && len(t.sketch.table) < t.max {
		// Size the sketch to the entries as the cache fills, not to
		// MaxSize up front (it forgets what it counted).
		t.sketch.init(min(2*len(t.sketch.table), t.max))
	}
	h := maphash.Comparable(t.seed, e.key)
	t.seq++
	t.nodes[i] = tnode[K, V]{e: e, h: h, seq: t.seq, prev: -1, next: -1}
	e.idx = i
	t.sketch.increment(h)
	t.pushFront(inWindow, i)
	t.misses++
	t.climb()
}

// update treats an overwrite as an access.
func (t *tinyLFU[K, V]) update(e *entry[K, V]) {
	t.seq++
	t.nodes[e.idx].seq = t.seq
	t.access(e)
}

func (t *tinyLFU[K, V]) order(e *entry[K, V]) uint64 { return t.nodes[e.idx].seq }

// access records a read of e, drained from the read buffers.
func (t *tinyLFU[K, V]) access(e *entry[K, V]) {
	i := e.idx
	if i < 0 || int(i) >= len(t.nodes) || t.nodes[i].e != e {
		return // removed since the read (Clear and Load reset every node)
	}
	n := &t.nodes[i]
	t.sketch.increment(n.h)
	t.hits++
	switch n.list {
	case inWindow, inProtected:
		t.unlink(i)
		t.pushFront(n.list, i)
	case inProbation:
		t.unlink(i)
		t.pushFront(inProtected, i)
		for t.lists[inProtected].n > t.proMax {
			d := t.lists[inProtected].tail
			t.unlink(d)
			t.pushFront(inProbation, d)
		}
	}
	t.climb()
}

func (t *tinyLFU[K, V]) remove(e *entry[K, V]) {
	i := e.idx
	if i < 0 {
		return
	}
	t.unlink(i)
	t.nodes[i] = tnode[K, V]{}
	t.free = append(t.free, i)
	e.idx = -1
}

// victim moves the window's overflow to probation, then pits the newest
// candidate against the probation LRU entry and returns the loser.
func (t *tinyLFU[K, V]) victim() *entry[K, V] {
	var cand int32 = -1
	for t.lists[inWindow].n > t.winMax {
		cand = t.lists[inWindow].tail
		t.unlink(cand)
		t.pushFront(inProbation, cand)
	}
	if t.lists[inProbation].n == 0 {
		// Everything is protected or in the window: demote one.
		if t.lists[inProtected].n > 0 {
			d := t.lists[inProtected].tail
			t.unlink(d)
			t.pushFront(inProbation, d)
		} else if w := t.lists[inWindow].tail; w >= 0 {
			return t.nodes[w].e
		} else {
			return nil
		}
	}
	vic := t.lists[inProbation].tail
	if cand < 0 {
		// No entry just left the window: its LRU entry competes instead.
		cand = t.lists[inWindow].tail
	}
	if cand < 0 || cand == vic {
		return t.nodes[vic].e
	}
	cf, vf := t.sketch.frequency(t.nodes[cand].h), t.sketch.frequency(t.nodes[vic].h)
	if cf > vf {
		return t.nodes[vic].e
	}
	// Caffeine admits a warm candidate now and then, so that an attacker
	// cannot pin the victim by inflating its frequency.
	if cf >= 6 && rand.Uint32()&127 == 0 {
		return t.nodes[vic].e
	}
	return t.nodes[cand].e
}

func (t *tinyLFU[K, V]) reset() {
	clear(t.nodes)
	t.nodes = t.nodes[:0]
	t.free = t.free[:0]
	for i := range t.lists {
		t.lists[i] = tlist{-1, -1, 0}
	}
}

// climb adjusts the window size once per sample of accesses.
func (t *tinyLFU[K, V]) climb() {
	n := t.hits + t.misses
	if n < t.sample {
		return
	}
	rate := float64(t.hits) / float64(n)
	delta := rate - t.prevRate
	amount := t.step
	if delta < 0 {
		amount = -t.step
	}
	if math.Abs(delta) >= 0.05 {
		t.step = 0.0625 * float64(t.max)
		if amount < 0 {
			t.step = -t.step
		}
	} else {
		t.step = 0.98 * amount
	}
	t.setWindow(t.winMax + int(amount))
	t.rebalance()
	t.prevRate = rate
	t.hits, t.misses = 0, 0
}

// rebalance moves entries between the window and the main space after the
// window size changed, at most queueTransfer of them: a grown window takes
// the main space's least recently used entries, a shrunk one hands its own
// to probation.
func (t *tinyLFU[K, V]) rebalance() {
	const queueTransfer = 1000
	for range queueTransfer {
		w := &t.lists[inWindow]
		switch {
		case w.n > t.winMax:
			i := w.tail
			t.unlink(i)
			t.pushFront(inProbation, i)
		case w.n < t.winMax && t.lists[inProbation].n > 0:
			i := t.lists[inProbation].tail
			t.unlink(i)
			t.pushFront(inWindow, i)
		case w.n < t.winMax && t.lists[inProtected].n > 0:
			i := t.lists[inProtected].tail
			t.unlink(i)
			t.pushFront(inWindow, i)
		default:
			return
		}
	}
}

func (t *tinyLFU[K, V]) pushFront(l uint8, i int32) {
	n := &t.nodes[i]
	n.list = l
	ls := &t.lists[l]
	n.prev, n.next = -1, ls.head
	if ls.head >= 0 {
		t.nodes[ls.head].prev = i
	} else {
		ls.tail = i
	}
	ls.head = i
	ls.n++
}

func (t *tinyLFU[K, V]) unlink(i int32) {
	n := &t.nodes[i]
	ls := &t.lists[n.list]
	if n.prev >= 0 {
		t.nodes[n.prev].next = n.next
	} else {
		ls.head = n.next
	}
	if n.next >= 0 {
		t.nodes[n.next].prev = n.prev
	} else {
		ls.tail = n.prev
	}
	n.prev, n.next = -1, -1
	ls.n--
}

// sketch is a count-min sketch of 4-bit counters, four per key. Every
// sample-size increments all counters are halved, so that old popularity
// fades. (A doorkeeper bloom filter in front, as in the TinyLFU paper,
// lost 0.5 to 1.5 points of hit ratio on the bench traces, so there is
// none, as in Caffeine.)
type sketch struct {
	table  []uint64 // 16 counters of 4 bits per word
	mask   uint64
	count  int
	sample int
}

func (s *sketch) init(capacity int) {
	n := uint64(1)
	for n < uint64(max(capacity, 16)) {
		n <<= 1
	}
	s.table = make([]uint64, n)
	s.mask = n - 1
	s.sample = 10 * max(capacity, 16)
}

func rehash(h uint64, i int) uint64 {
	h += uint64(i+1) * 0x9e3779b97f4a7c15
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

func (s *sketch) increment(h uint64) {
	added := false
	for i := range 4 {
		r := rehash(h, i)
		w, shift := &s.table[r&s.mask], (r>>60)*4
		if (*w>>shift)&15 < 15 {
			*w += 1 << shift
			added = true
		}
	}
	// Only increments that changed a counter advance the aging clock, so
	// a workload whose keys all saturate (a loop) is not aged into churn.
	if added {
		if s.count++; s.count >= s.sample {
			s.age()
		}
	}
}

func (s *sketch) frequency(h uint64) int {
	f := 15
	for i := range 4 {
		r := rehash(h, i)
		f = min(f, int((s.table[r&s.mask]>>((r>>60)*4))&15))
	}
	return f
}

func (s *sketch) age() {
	odd := 0
	for i := range s.table {
		odd += bits.OnesCount64(s.table[i] & 0x1111111111111111)
		s.table[i] = (s.table[i] >> 1) & 0x7777777777777777
	}
	// Halving drops half a count from each odd counter; a key has four.
	s.count = (s.count - odd/4) / 2
}
