package cache

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// withProcs runs f with GOMAXPROCS at n, so that caches made in it count
// accesses through the per-goroutine stripes whatever the machine.
func withProcs(t *testing.T, n int, f func()) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	defer runtime.GOMAXPROCS(old)
	f()
}

// Accesses counted in the stripes from many goroutines at once add up
// exactly: no access is lost or counted twice, also when more keys than a
// stripe has slots take the same slots in turn.
func TestAccessCountsExactUnderConcurrency(t *testing.T) {
	withProcs(t, 4, func() {
		c := New[int, int](Options{MaxSize: 10000, DefaultTTL: NoExpiration})
		if c.stripes() < 2 {
			t.Fatal("one reader stripe with GOMAXPROCS 4")
		}
		const keys, workers = 2000, 8 // 125 keys for each lock's 32 slots
		for k := range keys {
			c.Put(k, k, NoExpiration)
		}
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for round := range 7 {
					for k := range keys {
						if k%7 >= round {
							c.Get(k)
						}
					}
				}
			})
		}
		wg.Wait()
		// Every slot holding an entry is counted in the entry, and no lock
		// holds an entry in both slots of its pair.
		holders := map[*entry[int, int]]uint64{}
		for i := range c.locks.l {
			sl := &c.locks.l[i].slots
			for j := range sl {
				if e := sl[j].e; e != nil {
					holders[e]++
					if sl[j^1].e == e {
						t.Fatalf("lock %d holds key %d in both slots %d and %d", i, e.key, j, j^1)
					}
				}
			}
		}
		for e, n := range holders {
			if got := e.hits.Load() >> 56; got != n {
				t.Fatalf("key %d: %d slots hold it, its count says %d", e.key, n, got)
			}
		}
		var total uint64
		for k := range keys {
			e, ok := c.Peek(k)
			want := uint64(workers * (k%7 + 1))
			if !ok || e.AccessCount != want {
				t.Fatalf("key %d: access count %d, want %d", k, e.AccessCount, want)
			}
			total += want
			if h := c.lookup(k).hits.Load(); h >= holderOne {
				t.Fatalf("key %d: %d slots still hold it after Peek", k, h>>56)
			}
		}
		if s := c.Stats(); s.Hits != total {
			t.Fatalf("%d hits counted, %d made", s.Hits, total)
		}
	})
}

// What the stripes hold counts for eviction, is reset by an overwrite and
// is saved.
func TestPendingCountsAreExact(t *testing.T) {
	withProcs(t, 4, func() {
		t.Run("eviction sees them", func(t *testing.T) {
			c := New[string, int](Options{MaxSize: 2, DefaultTTL: NoExpiration})
			c.Put("a", 1, NoExpiration)
			c.Put("b", 2, NoExpiration)
			for range 3 {
				c.Get("a") // pending in this goroutine's stripe
			}
			c.Put("c", 3, NoExpiration) // b has fewer accesses than a
			if _, ok := c.Peek("a"); !ok {
				t.Fatal("a, accessed 3 times, was evicted before b")
			}
			if _, ok := c.Peek("b"); ok {
				t.Fatal("b survived")
			}
		})
		t.Run("an overwrite resets them", func(t *testing.T) {
			c := New[string, int](Options{MaxSize: 10, DefaultTTL: NoExpiration})
			c.Put("a", 1, NoExpiration)
			for range 5 {
				c.Get("a")
			}
			c.Put("a", 2, NoExpiration)
			if e, _ := c.Peek("a"); e.AccessCount != 0 {
				t.Fatalf("access count %d after an overwrite", e.AccessCount)
			}
			c.Get("a")
			if e, _ := c.Peek("a"); e.AccessCount != 1 {
				t.Fatalf("access count %d after one more Get", e.AccessCount)
			}
		})
		t.Run("Save writes them", func(t *testing.T) {
			c := New[string, int](Options{MaxSize: 10, DefaultTTL: NoExpiration})
			c.Put("a", 1, NoExpiration)
			for range 3 {
				c.Get("a")
			}
			var buf bytes.Buffer
			if err := c.Save(&buf); err != nil {
				t.Fatal(err)
			}
			d := New[string, int](Options{MaxSize: 10, DefaultTTL: NoExpiration})
			if err := d.Load(&buf); err != nil {
				t.Fatal(err)
			}
			if e, _ := d.Peek("a"); e.AccessCount != 3 {
				t.Fatalf("loaded access count %d, want 3", e.AccessCount)
			}
		})
		t.Run("Clear drops them", func(t *testing.T) {
			c := New[string, int](Options{MaxSize: 10, DefaultTTL: NoExpiration})
			c.Put("a", 1, NoExpiration)
			c.Get("a")
			c.Clear()
			for i := range c.locks.l {
				for _, sl := range c.locks.l[i].slots {
					if sl.e != nil {
						t.Fatal("a stripe still holds an entry after Clear")
					}
				}
			}
		})
	})
}

func TestReaderStripesFollowGOMAXPROCS(t *testing.T) {
	for _, tc := range []struct{ procs, stripes int }{{1, 1}, {2, 2}, {3, 4}, {4, 4}, {8, 8}, {16, 16}, {64, 16}} {
		withProcs(t, tc.procs, func() {
			c := New[int, int](Options{})
			if int(c.stripes()) != tc.stripes || len(c.locks.l) != stripeLocks {
				t.Errorf("GOMAXPROCS %d: %d stripes of %d locks, want %d of %d", tc.procs, c.stripes(), len(c.locks.l), tc.stripes, stripeLocks)
			}
		})
	}
}

// Hits and overwrites of stored keys allocate nothing, also over many
// rounds: the eviction queue compacts in place the empty slots that
// overwrites leave, and the overwrite buffers are reused.
func TestHitsAndOverwritesDoNotAllocate(t *testing.T) {
	for _, procs := range []int{1, 2} {
		withProcs(t, procs, func() {
			const n = 4096
			c := New[string, int](Options{MaxSize: n, DefaultTTL: NoExpiration})
			keys := make([]string, n)
			for i := range keys {
				keys[i] = strconv.Itoa(i)
				c.Put(keys[i], i, NoExpiration)
			}
			round := func(r int) {
				for i := range n {
					k := keys[(i*1237+r*31)%n] // every key, in an order that changes
					if i%4 == 0 {
						c.Put(k, i, NoExpiration)
					} else {
						c.Get(k)
					}
				}
			}
			// Entries settle between the queue and the heap, whose arrays
			// grow (never shrink) to what they need.
			h := c.pol.(*lfuHeap[string, int])
			for r, same := 0, 0; same < 10 && r < 1000; r++ {
				size := cap(h.s) + len(h.q.r)
				round(r)
				if cap(h.s)+len(h.q.r) == size {
					same++
				} else {
					same = 0
				}
			}
			var before, after runtime.MemStats
			runtime.GC() // a collection the setup started would start workers, which allocate
			runtime.ReadMemStats(&before)
			for r := range 50 {
				round(r)
			}
			runtime.ReadMemStats(&after)
			// The runtime may allocate an object or two meanwhile (timers,
			// GC workers); an allocation per overwrite would be 51,200.
			if got := after.Mallocs - before.Mallocs; got > 4 {
				t.Errorf("GOMAXPROCS %d: %d allocations in %d hits and overwrites", procs, got, 50*n)
			}
		})
	}
}
