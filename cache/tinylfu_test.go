package cache

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestWTinyLFUResistsScans fills a cache with a hot set, then interleaves
// its use with a scan of many keys seen once: W-TinyLFU must keep the hot
// set, where an LRU (80 scan keys between two uses of a hot key, 100
// slots) would lose most of it.
func TestWTinyLFUResistsScans(t *testing.T) {
	c := New[int, int](Options{MaxSize: 100, DefaultTTL: NoExpiration, Policy: WTinyLFU})
	for range 20 {
		for k := range 80 {
			if _, ok := c.Get(k); !ok {
				c.Put(k, k, DefaultTTL)
			}
		}
	}
	for k := 1000; k < 11000; k++ {
		for _, key := range []int{k, k % 80} {
			if _, ok := c.Get(key); !ok {
				c.Put(key, key, DefaultTTL)
			}
		}
	}
	kept := 0
	for k := range 80 {
		if _, ok := c.Peek(k); ok {
			kept++
		}
	}
	if kept < 70 {
		t.Errorf("after a scan of 10000 one-time keys, %d of 80 hot keys are left", kept)
	}
	if c.Len() > 100 {
		t.Errorf("Len = %d > MaxSize", c.Len())
	}
	checkInvariants(t, c)
}

// TestWTinyLFUAdaptsToShift checks that the policy forgets a popular set
// once the workload moves to another one, which ExactLFU never does.
func TestWTinyLFUAdaptsToShift(t *testing.T) {
	ratio := func(p Policy) float64 {
		c := New[int, int](Options{MaxSize: 200, DefaultTTL: NoExpiration, Policy: p})
		r := rand.New(rand.NewPCG(1, 2))
		hits, gets := 0, 0
		for phase := range 4 {
			for range 20000 {
				k := phase*10000 + int(r.ExpFloat64()*60)
				gets++
				if _, ok := c.Get(k); ok {
					hits++
				} else {
					c.Put(k, k, DefaultTTL)
				}
			}
		}
		return float64(hits) / float64(gets)
	}
	exact, tiny := ratio(ExactLFU), ratio(WTinyLFU)
	t.Logf("hit ratio on a shifting working set: exact LFU %.3f, W-TinyLFU %.3f", exact, tiny)
	if tiny < exact+0.1 {
		t.Errorf("W-TinyLFU %.3f is not clearly above exact LFU %.3f on a shifting workload", tiny, exact)
	}
}

func TestSketch(t *testing.T) {
	var s sketch
	s.init(1000)
	for i := range 10 {
		for range i {
			s.increment(rehash(uint64(i), 9))
		}
	}
	for i := 1; i < 10; i++ {
		if lo, hi := s.frequency(rehash(uint64(i-1), 9)), s.frequency(rehash(uint64(i), 9)); lo > hi {
			t.Errorf("frequency of a key seen %d times (%d) > one seen %d times (%d)", i-1, lo, i, hi)
		}
	}
	if f := s.frequency(rehash(5, 9)); f < 4 || f > 6 {
		t.Errorf("frequency of a key seen 5 times = %d", f)
	}
	s.age()
	if f := s.frequency(rehash(8, 9)); f > 4 {
		t.Errorf("after aging, frequency of a key seen 8 times = %d, want about half", f)
	}
}

// TestHugeMaxSizeAllocatesLazily checks that nothing is sized to MaxSize
// up front: a cache that may hold a billion entries starts small.
func TestHugeMaxSizeAllocatesLazily(t *testing.T) {
	for _, p := range []Policy{ExactLFU, WTinyLFU} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		c := New[int, int](Options{MaxSize: 1 << 30, Policy: p})
		for i := range 5000 {
			c.Put(i, i, DefaultTTL)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
			t.Errorf("%v: %d MiB allocated for 5000 entries of a cache with MaxSize 2^30", p, grew>>20)
		}
		runtime.KeepAlive(c)
	}
}

// TestWTinyLFUReadsKeepOrder checks that one goroutine's reads reach the
// policy in the order they happened: the window's recency list must list
// the keys exactly as read, most recent first. (Reads spread over the
// stripes at random arrived shuffled.)
func TestWTinyLFUReadsKeepOrder(t *testing.T) {
	// A GC could move the stack, and with it the goroutine's stripe,
	// mid-sequence; nothing here allocates, but rule it out.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	c := New[int, int](Options{MaxSize: 1000, DefaultTTL: NoExpiration, Policy: WTinyLFU})
	const n = 200
	for k := range n {
		c.Put(k, k, DefaultTTL) // below MaxSize: all stay in the window
	}
	order := rand.New(rand.NewPCG(3, 4)).Perm(n)
	for _, k := range order {
		c.Get(k)
	}
	c.mu.Lock()
	c.drainReads()
	t1 := c.pol.(*tinyLFU[int, int])
	var got []int
	for i := t1.lists[inWindow].head; i >= 0; i = t1.nodes[i].next {
		got = append(got, t1.nodes[i].e.key)
	}
	c.mu.Unlock()
	if len(got) != n {
		t.Fatalf("window holds %d entries, want %d", len(got), n)
	}
	for i, k := range got {
		if want := order[n-1-i]; k != want {
			t.Fatalf("window position %d (from the most recent) holds key %d, want %d: reads were applied out of order", i, k, want)
		}
	}
}

// TestWTinyLFUHoldsLoop replays a loop over twice as many keys as the
// cache holds. LRU hits nothing; W-TinyLFU should keep about half of the
// loop in its main space and hit on nearly every other access (Belady's
// optimum is just under 50%). With reads applied out of order the main
// space churned and the ratio stayed near 42%.
func TestWTinyLFUHoldsLoop(t *testing.T) {
	const keys, loops, warm = 2000, 60, 20
	c := New[int, int](Options{MaxSize: keys / 2, DefaultTTL: NoExpiration, Policy: WTinyLFU})
	hits, gets := 0, 0
	for l := range loops {
		for k := range keys {
			_, ok := c.Get(k)
			if !ok {
				c.Put(k, k, DefaultTTL)
			}
			if l >= warm {
				gets++
				if ok {
					hits++
				}
			}
		}
	}
	ratio := float64(hits) / float64(gets)
	t.Logf("hit ratio on a loop of %d keys through %d slots, after %d loops: %.3f", keys, keys/2, warm, ratio)
	if ratio < 0.47 {
		t.Errorf("hit ratio %.3f on a loop twice the cache's size, want at least 0.47", ratio)
	}
	checkInvariants(t, c)
}
