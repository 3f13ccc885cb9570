package bench_test

import (
	"fmt"
	"testing"
)

// evictSizes are the cache sizes the eviction cost is measured at. A
// cost that grows with size (the seed's linear scan took about 260 µs per
// insert at 100k entries) shows up as a slope across them.
var evictSizes = []int{1_000, 100_000, 1_000_000}

// BenchmarkCacheEvict measures one insert of a new key into a full cache,
// which must evict an entry, from a single goroutine, at each size in
// evictSizes. Keys are uint64, so no time goes into hashing or allocating
// strings, and the insert and its eviction are all that is measured.
//
// Setting up the 1M-entry caches takes most of this benchmark's time.
func BenchmarkCacheEvict(b *testing.B) {
	for _, size := range evictSizes {
		for _, mk := range benchCaches[uint64]() {
			b.Run(fmt.Sprintf("size=%s/%s", sizeName(size), mk.name), func(b *testing.B) {
				c := mk.new(size)
				defer c.Close()
				for k := range uint64(size) {
					c.Set(k, "v")
				}
				c.Wait()
				before := evictions(c)
				next := uint64(size)
				b.ReportAllocs()
				for b.Loop() {
					c.Set(next, "v")
					next++
				}
				if after := evictions(c); after >= 0 {
					b.ReportMetric(float64(after-before)/float64(b.N), "evict/op")
				}
			})
		}
	}
}

// sizeName formats 1000 as "1k" and 1000000 as "1M".
func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}
