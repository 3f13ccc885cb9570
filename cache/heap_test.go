package cache

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
)

// TestLFUPolicyMatchesModel drives the ExactLFU heap and its cold queue
// directly with random inserts, reads, overwrites (filed at once or late
// and out of order, as overwrites made without Cache.mu are), removals,
// evictions and renumberings, in phases that fill, churn and empty it, and
// checks every victim against a naive model of (count, write order).
func TestLFUPolicyMatchesModel(t *testing.T) {
	for _, size := range []int{16, 1000} {
		t.Run(fmt.Sprint("max=", size), func(t *testing.T) { testLFUPolicy(t, size) })
	}
}

func testLFUPolicy(t *testing.T, size int) {
	type late struct {
		e *entry[int, int]
		w uint64
	}
	var wseq atomic.Uint64
	h := newLFUHeap[int, int](size, func(e *entry[int, int]) uint64 { return e.hits.Load() }, &wseq)
	h.seqMax = 1 << 40 // renumbered by the test
	live := map[*entry[int, int]]*lfuModel{}
	var lates []late
	rnd := rand.New(rand.NewPCG(1, uint64(size)))
	pick := func() *entry[int, int] {
		for e := range live {
			return e
		}
		return nil
	}
	key := 0
	insert := func(hits uint64) {
		key++
		e := &entry[int, int]{key: key, idx: -1}
		e.hits.Store(hits)
		h.insert(e)
		live[e] = &lfuModel{seq: wseq.Load()}
	}
	// apply files the waiting overwrites in any order, as the heaps do
	// before any choice (Cache.drainDirty).
	apply := func() {
		rnd.Shuffle(len(lates), func(i, j int) { lates[i], lates[j] = lates[j], lates[i] })
		for _, l := range lates {
			if m, ok := live[l.e]; ok {
				h.file(l.e, l.w)
				m.seq = max(m.seq, l.w)
			}
		}
		lates = lates[:0]
	}
	evict := func() {
		apply()
		var want *entry[int, int]
		for e, m := range live {
			if want == nil || cmp.Or(cmp.Compare(recorded(e.hits.Load()), recorded(want.hits.Load())), cmp.Compare(m.seq, live[want].seq)) < 0 {
				want = e
			}
		}
		if got := h.victim(); got != want {
			t.Fatalf("victim %v, want %v", got, want)
		}
		if want != nil {
			h.remove(want)
			delete(live, want)
		}
	}
	// Phases: fill with some reads, churn at capacity, empty to a few.
	for phase := range 12 {
		steps := 4 * size
		for range steps {
			e := pick()
			switch op := rnd.IntN(20); {
			case phase%3 == 0 && len(live) < size, e == nil:
				insert(uint64(rnd.IntN(3)) * uint64(rnd.IntN(2))) // a Load may bring counts
			case op < 5:
				e.hits.Add(1)
			case op < 7: // overwrite under Cache.mu
				e.hits.Store(0)
				h.update(e)
				live[e].seq = wseq.Load()
			case op < 9: // overwrite without it: filed later
				e.hits.Store(0)
				lates = append(lates, late{e, wseq.Add(1)})
			case op < 10:
				apply()
			case op < 12 || phase%3 == 2:
				h.remove(e)
				delete(live, e)
			case phase%3 == 1:
				if len(live) >= size {
					evict()
				}
				insert(0)
			}
			if len(lates) == 0 && rnd.IntN(500) == 0 {
				h.renumber()
				checkLFU(t, h, len(live), wseq.Load()-h.base)
				rebase(live, h)
			}
		}
		apply()
		checkLFU(t, h, len(live), wseq.Load()-h.base)
		if phase%3 == 1 {
			for range len(live) / 2 {
				evict()
			}
			checkLFU(t, h, len(live), wseq.Load()-h.base)
		}
	}
	if cap(h.s)+len(h.q.r) > 4*size+64 {
		t.Fatalf("heap and queue keep %d + %d slots for at most %d entries", cap(h.s), len(h.q.r), size)
	}
}

// lfuModel is what the model knows of an entry besides its count: its
// latest write order.
type lfuModel struct{ seq uint64 }

// rebase makes the model's write orders the heap's after a renumbering.
func rebase[K comparable, V any](live map[*entry[K, V]]*lfuModel, h *lfuHeap[K, V]) {
	for e, m := range live {
		m.seq = h.order(e) + h.base
	}
}

// A full queue with a quarter of its slots emptied by removals compacts
// into the buffer it has, keeping its order, rather than allocating one.
func TestQueueCompactsInPlace(t *testing.T) {
	var q coldQueue[int, int]
	q.max = 64
	var es []*entry[int, int]
	for i := range 64 {
		e := &entry[int, int]{key: i, idx: -1}
		es = append(es, e)
		if !q.push(lfuSlot[int, int]{e: e, key: uint64(i + 1)}) {
			t.Fatal("push refused below max")
		}
	}
	q.pop() // the ring now starts past position 0
	for i := 2; i < 64; i += 3 {
		q.remove(es[i])
	}
	buf := &q.r[0]
	for i := 64; i < 66; i++ { // the second push finds the buffer full
		q.push(lfuSlot[int, int]{e: &entry[int, int]{key: i, idx: -1}, key: uint64(i + 1)})
	}
	if &q.r[0] != buf || len(q.r) != 64 {
		t.Fatalf("compaction allocated: buffer of %d", len(q.r))
	}
	if q.dead != 0 {
		t.Fatalf("%d empty slots after compaction", q.dead)
	}
	var keys []uint64
	q.all(func(s *lfuSlot[int, int]) {
		if position(s.e.idx) < 0 || &q.r[position(s.e.idx)] != s {
			t.Fatalf("entry %d: index %d does not point at its slot", s.e.key, s.e.idx)
		}
		keys = append(keys, s.key)
	})
	if len(keys) != 64-1-21+2 || !slices.IsSorted(keys) {
		t.Fatalf("queue after compaction: %v", keys)
	}
}
