package bench_test

import (
	"container/heap"
	"testing"

	"github.com/edgeinfra/edgeinfra/bench/trace"
)

// refLFU is a direct transcription of API.md's eviction contract, kept
// simple rather than fast: when a new key finds the cache full, evict the
// entry with the fewest Gets since it was written, ties going to the
// oldest write. With no TTLs in play, our default policy must make exactly
// the same choices, so it must hit exactly as often on every trace.
type refLFU struct {
	capacity int
	seq      uint64
	byKey    map[uint64]*refEntry
	h        refHeap
}

type refEntry struct {
	key   uint64
	count uint64 // Gets since the last write
	seq   uint64 // order of the last write
	index int    // position in the heap
}

type refHeap []*refEntry

func (h refHeap) Len() int { return len(h) }
func (h refHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count < h[j].count
	}
	return h[i].seq < h[j].seq
}
func (h refHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *refHeap) Push(x any) {
	e := x.(*refEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *refHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newRefLFU(capacity int) benchCache[uint64] {
	return &refLFU{capacity: capacity, byKey: make(map[uint64]*refEntry, capacity)}
}

func (r *refLFU) Get(k uint64) (string, bool) {
	e, ok := r.byKey[k]
	if !ok {
		return "", false
	}
	e.count++
	heap.Fix(&r.h, e.index)
	return "v", true
}

func (r *refLFU) Set(k uint64, _ string) {
	r.seq++
	if e, ok := r.byKey[k]; ok {
		e.count, e.seq = 0, r.seq
		heap.Fix(&r.h, e.index)
		return
	}
	if len(r.h) >= r.capacity {
		victim := heap.Pop(&r.h).(*refEntry)
		delete(r.byKey, victim.key)
	}
	e := &refEntry{key: k, seq: r.seq}
	r.byKey[k] = e
	heap.Push(&r.h, e)
}

func (r *refLFU) Wait()  {}
func (r *refLFU) Close() {}

// TestExactLFUMatchesContract replays every standard trace at every
// standard capacity through our default cache and through refLFU, and
// requires the same hits access by access: a sharded or approximate
// eviction would show up here as a difference.
func TestExactLFUMatchesContract(t *testing.T) {
	var ours cacheMaker[uint64]
	for _, mk := range edgeinfraCaches[uint64]() {
		if mk.name == "edgeinfra" {
			ours = mk
		}
	}
	if ours.new == nil {
		t.Skip("our cache is not wired into the benchmarks")
	}
	for _, tr := range traceSuite() {
		for _, capacity := range trace.Capacities(traceSize()) {
			c, ref := ours.new(capacity), newRefLFU(capacity)
			for i, k := range tr.Keys {
				_, got := c.Get(k)
				_, want := ref.Get(k)
				if got != want {
					t.Errorf("%s at capacity %d: access %d: Get hit = %v, contract says %v", tr.Name, capacity, i, got, want)
					break
				}
				if !got {
					c.Set(k, "v")
					ref.Set(k, "v")
				}
			}
			c.Close()
		}
	}
}
