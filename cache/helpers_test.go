package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m) // runs the tests, then fails on leaked goroutines
}

// fakeClock is an Options.Now that moves only when told to.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// checkInvariants verifies the internal structures of c against each other.
func checkInvariants[K comparable, V any](t testing.TB, c *Cache[K, V]) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.quiesce() // the heaps take the overwrites made without c.mu
	defer c.resume()
	n := 0
	for i := range c.shards {
		c.shards[i].t.all(func(e *entry[K, V]) bool {
			n++
			k := e.key
			if h := c.hash(k); int(h&(shardCount-1)) != i || c.shards[i].t.get(h, k) != e {
				t.Fatalf("entry %v cannot be found", k)
			}
			if (e.expires != 0) != (e.expIdx >= 0) {
				t.Fatalf("entry %v: expires %d but expiry heap index %d", k, e.expires, e.expIdx)
			}
			return true
		})
		if c.shards[i].t.n > len(c.shards[i].t.d.Load().slots)*7/8 {
			t.Fatalf("shard %d: table over 7/8 full", i)
		}
	}
	if c.weights != nil {
		var sum int64
		for e, w := range c.weights {
			if w <= 0 || e.idx == -1 {
				t.Fatalf("weights holds %d for entry %v (idx %d)", w, e.key, e.idx)
			}
			sum += int64(w)
		}
		if sum != c.bytes {
			t.Fatalf("bytes = %d, weights sum to %d", c.bytes, sum)
		}
	}
	if got := int(c.size.Load()); got != n || c.n != n {
		t.Fatalf("size = %d, maps hold %d", got, n)
	}
	if n > c.cfg.maxSize {
		t.Fatalf("%d entries above MaxSize %d", n, c.cfg.maxSize)
	}
	if h, ok := c.pol.(*lfuHeap[K, V]); ok {
		checkLFU(t, h, n, c.wseq.Load()-h.base)
	}
	for i := range c.exp.s {
		s := &c.exp.s[i]
		if int(s.e.expIdx) != i || s.at != s.e.expires {
			t.Fatalf("expiry slot %d inconsistent", i)
		}
		if i > 0 && s.at < c.exp.s[(i-1)/heapArity].at {
			t.Fatalf("expiry heap order broken at %d", i)
		}
	}
}

// checkLFU verifies that the ExactLFU heap and queue hold n entries in
// order, each recording at most its current count and a write order in
// 1..last.
func checkLFU[K comparable, V any](t testing.TB, h *lfuHeap[K, V], n int, last uint64) {
	t.Helper()
	check := func(where string, s *lfuSlot[K, V]) {
		if s.key>>32 > recorded(s.e.hits.Load()&countMask) {
			t.Fatalf("%s: recorded %d > current %d", where, s.key>>32, s.e.hits.Load()&countMask)
		}
		if uint64(uint32(s.key)) > last || uint32(s.key) == 0 {
			t.Fatalf("%s: write order %d outside 1..%d", where, uint32(s.key), last)
		}
	}
	for i := range h.s {
		s := &h.s[i]
		where := fmt.Sprintf("heap slot %d", i)
		if int(s.e.idx) != i {
			t.Fatalf("%s: entry says %d", where, s.e.idx)
		}
		if i > 0 && s.key < h.s[(i-1)/heapArity].key {
			t.Fatalf("%s: heap order broken", where)
		}
		check(where, s)
	}
	q := &h.q
	queued, dead, prev := 0, 0, uint64(0)
	for i := range q.n {
		p := q.at(i)
		s := &q.r[p]
		if s.e == nil {
			dead++
			if i == 0 || i == q.n-1 {
				t.Fatalf("queue: empty slot at an end (%d of %d)", i, q.n)
			}
			continue
		}
		queued++
		where := fmt.Sprintf("queue slot %d", p)
		if position(s.e.idx) != p {
			t.Fatalf("%s: entry says %d", where, s.e.idx)
		}
		if s.key>>32 != 0 || s.key <= prev {
			t.Fatalf("%s: key %#x after %#x", where, s.key, prev)
		}
		prev = s.key
		check(where, s)
	}
	if dead != q.dead {
		t.Fatalf("queue: %d empty slots, counted %d", dead, q.dead)
	}
	if len(h.s)+queued != n {
		t.Fatalf("lfu heap and queue hold %d + %d, tables %d", len(h.s), queued, n)
	}
}

// setSeqMax makes the ExactLFU heap renumber its write orders after
// seqMax/2 writes instead of 2^31.
func (c *Cache[K, V]) setSeqMax(seqMax uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.pol.(*lfuHeap[K, V])
	h.seqMax = seqMax
	c.limitFastSeq(h)
}

// background runs n workers, each calling step(worker, i) for i = 0, 1,
// … until step returns false or the returned stop is called; stop waits
// for them to return.
func background(n int, step func(w, i int) bool) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if !step(w, i) {
					return
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
