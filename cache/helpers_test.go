package cache

import (
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
			if w <= 0 || e.idx < 0 {
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
		if len(h.s) != n {
			t.Fatalf("lfu heap holds %d, maps %d", len(h.s), n)
		}
		for i := range h.s {
			s := &h.s[i]
			if int(s.e.idx) != i {
				t.Fatalf("heap slot %d: entry says %d", i, s.e.idx)
			}
			if s.key>>32 > recorded(s.e.hits.Load()&countMask) {
				t.Fatalf("heap slot %d: recorded %d > current %d", i, s.key>>32, s.e.hits.Load()&countMask)
			}
			if i > 0 && s.key < h.s[(i-1)/heapArity].key {
				t.Fatalf("heap order broken at %d", i)
			}
			if last := c.wseq.Load() - h.base; uint64(uint32(s.key)) > last || uint32(s.key) == 0 {
				t.Fatalf("heap slot %d: write order %d outside 1..%d", i, uint32(s.key), last)
			}
		}
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
