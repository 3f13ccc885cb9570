package bench_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/edgeinfra/edgeinfra/bench/trace"
)

// Throughput workloads, modelled on otter's benchmarks: a prepopulated
// cache, a precomputed Zipf access sequence, and goroutines that each start
// at a different point of the sequence, so the measured loop does nothing
// but index a slice and call the cache.
const (
	tpItems    = 1 << 15 // distinct keys, all prepopulated
	tpCapacity = 2 * tpItems
	tpAccesses = 1 << 16 // length of the access sequence (a power of two)
	tpSkew     = 0.99    // YCSB's default Zipf constant

	insCapacity = 1 << 14 // cache size for the insert workload
	insPool     = 1 << 19 // distinct keys inserted in turn (32 × capacity)
)

// tpCapacity is twice the key count so that no cache has a reason to
// evict during the read workloads: policies such as otter's may evict a
// little before they reach their bound.

type throughputData struct {
	keys     []string // tpItems distinct keys
	values   []string // one value per key
	accesses []string // tpAccesses Zipf-distributed picks from keys
	pool     []string // insPool distinct keys for the insert workload
}

var tpData = sync.OnceValue(func() *throughputData {
	d := &throughputData{
		keys:     make([]string, tpItems),
		values:   make([]string, tpItems),
		accesses: make([]string, tpAccesses),
		pool:     make([]string, insPool),
	}
	for i := range d.keys {
		d.keys[i] = benchKeyString(uint64(i))
		d.values[i] = fmt.Sprintf("value-%d", i)
	}
	z := trace.NewZipf(rand.New(rand.NewPCG(42, 42)), tpItems, tpSkew)
	for i := range d.accesses {
		d.accesses[i] = d.keys[z.Next()]
	}
	for i := range d.pool {
		d.pool[i] = benchKeyString(1<<32 + uint64(i))
	}
	return d
})

// benchKeyString returns a URL-path-like key of 28 bytes, the shape of the
// keys an edge cache sees.
func benchKeyString(i uint64) string {
	return fmt.Sprintf("/v1/objects/%016x", trace.Mix(i))
}

// BenchmarkCacheReads measures 100% reads of Zipf-distributed keys from a
// cache that holds every key, so every read is a hit (the hit% metric
// checks it).
func BenchmarkCacheReads(b *testing.B) {
	d := tpData()
	for _, mk := range benchCaches[string]() {
		b.Run(mk.name, func(b *testing.B) { benchMixed(b, mk, d.keys, d.accesses, false) })
	}
}

// BenchmarkCacheReadWrite measures 75% reads and 25% writes of
// Zipf-distributed keys; the writes replace the values of keys already in
// the cache, so the reads still all hit.
func BenchmarkCacheReadWrite(b *testing.B) {
	d := tpData()
	for _, mk := range benchCaches[string]() {
		b.Run(mk.name, func(b *testing.B) { benchMixed(b, mk, d.keys, d.accesses, true) })
	}
}

// benchMixed fills a cache with keys and has every goroutine walk seq
// (whose length is a power of two) from its own starting point, reading
// each key, or with writes every fourth one replacing its value.
func benchMixed(b *testing.B, mk cacheMaker[string], keys, seq []string, writes bool) {
	d := tpData()
	c := mk.new(tpCapacity)
	defer c.Close()
	populate(b, c, keys, d.values)

	var (
		start      atomic.Uint64
		hits, gets atomic.Uint64
	)
	mask := len(seq) - 1
	settle()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(trace.Mix(start.Add(1)))
		var h, g uint64
		for pb.Next() {
			k := seq[i&mask]
			if writes && i&3 == 0 {
				c.Set(k, d.values[i&(tpItems-1)])
			} else {
				if _, ok := c.Get(k); ok {
					h++
				}
				g++
			}
			i++
		}
		hits.Add(h)
		gets.Add(g)
	})
	b.StopTimer()
	if g := gets.Load(); g > 0 {
		b.ReportMetric(100*float64(hits.Load())/float64(g), "hit%")
	}
}

// BenchmarkCacheHotReads measures reads spread evenly over 512 hot keys,
// all hits, every goroutine reading all of them: the case where the
// caches' per-read bookkeeping (a lossy read buffer for most, exact
// pending counts for ours) meets the same keys from every core, without
// the cache misses of a large key set to hide it.
func BenchmarkCacheHotReads(b *testing.B) {
	const hot = 512
	d := tpData()
	keys := d.keys[:hot]
	seq := make([]string, hot)
	for j := range seq {
		seq[j] = keys[j*7%hot] // 7 is odd: every key in turn
	}
	for _, mk := range benchCaches[string]() {
		b.Run(mk.name, func(b *testing.B) { benchMixed(b, mk, keys, seq, false) })
	}
}

// populate puts every key into c and checks that c holds them all
// afterwards. Caches with buffered writes (ristretto drops writes when its
// buffers are full) get a few rounds to take every key; the benchmark
// fails rather than measure reads that miss.
func populate[K benchKey](b *testing.B, c benchCache[K], keys []K, values []string) {
	b.Helper()
	for round := 0; ; round++ {
		missing := 0
		for i, k := range keys {
			if round == 0 {
				c.Set(k, values[i%len(values)])
				continue
			}
			if _, ok := c.Get(k); !ok {
				missing++
				c.Set(k, values[i%len(values)])
			}
		}
		c.Wait()
		if round > 0 && missing == 0 {
			return
		}
		if round == 10 {
			b.Fatalf("cache still misses %d of %d keys after %d rounds of Set", missing, len(keys), round)
		}
	}
}

// BenchmarkCacheInserts measures 100% inserts of new keys into a full
// cache, so that every insert evicts an entry (the evict/op metric, where
// the cache reports evictions, checks it). Each goroutine walks its own
// region of a key pool 32 times larger than the cache, so a key comes
// back only long after it was evicted.
func BenchmarkCacheInserts(b *testing.B) {
	for _, mk := range benchCaches[string]() {
		b.Run(mk.name, func(b *testing.B) {
			d := tpData()
			c := mk.new(insCapacity)
			defer c.Close()
			// Fill with Sets only: a Get would raise the prefilled entries'
			// frequencies, and frequency-based policies would then keep them
			// and evict nothing but the previous insert.
			for i, k := range d.pool[:insCapacity] {
				c.Set(k, d.values[i])
			}
			c.Wait()
			before := evictions(c)
			settle()

			var goroutine atomic.Uint64
			const mask = insPool - 1
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Regions start 2×capacity apart and past the prefilled keys.
				i := insCapacity + int(goroutine.Add(1))*2*insCapacity
				for pb.Next() {
					c.Set(d.pool[i&mask], d.values[i&(tpItems-1)])
					i++
				}
			})
			b.StopTimer()
			if after := evictions(c); after >= 0 {
				b.ReportMetric(float64(after-before)/float64(b.N), "evict/op")
			}
		})
	}
}

// evictions returns the number of evictions c has counted, or -1 if c
// does not count them.
func evictions[K benchKey](c benchCache[K]) int64 {
	if e, ok := c.(interface{ Evictions() uint64 }); ok {
		return int64(e.Evictions())
	}
	return -1
}

// settle collects the garbage of the setup (and of earlier runs) before
// the timer starts, so that a concurrent collection, which takes a
// quarter of the CPUs while it marks, does not land in one cache's
// measurement and not in another's.
func settle() { runtime.GC() }
