package bench_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// memEntries is the number of string→string entries the overhead is
// measured over.
const memEntries = 100_000

var memData = sync.OnceValues(func() (keys, values []string) {
	keys = make([]string, memEntries)
	values = make([]string, memEntries)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
		values[i] = fmt.Sprintf("value-%08d", i)
	}
	return keys, values
})

// BenchmarkCacheOverhead reports the heap bytes each cache spends per
// entry beyond the keys' and values' own bytes (B/entry), for 100,000
// string→string entries in a cache sized for exactly that many.
//
// The key and value strings are allocated before the baseline is taken and
// shared with the cache, so their bytes are not in the delta; what remains
// is everything the cache adds: its copies of the two 16-byte string
// headers, entry structs, hash tables, lists and policy sketches, and
// buffers sized by capacity. The heap is measured with
// runtime.ReadMemStats after a forced collection, so garbage left by the
// inserts does not count. The entries metric is how many entries the cache
// actually held; B/entry divides by it. The timing (ns/op) is the cost of
// building and measuring one cache and means nothing; run with
// -benchtime 1x.
func BenchmarkCacheOverhead(b *testing.B) {
	keys, values := memData()
	for _, mk := range benchCaches[string]() {
		b.Run(mk.name, func(b *testing.B) {
			var perEntry float64
			var held int
			for b.Loop() {
				perEntry, held = measureOverhead(b, mk, keys, values)
			}
			b.ReportMetric(perEntry, "B/entry")
			b.ReportMetric(float64(held), "entries")
		})
	}
}

// measureOverhead builds one cache of len(keys) entries and returns its
// heap bytes per held entry and the number of entries held.
func measureOverhead(b *testing.B, mk cacheMaker[string], keys, values []string) (float64, int) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	c := mk.new(len(keys))
	populate(b, c, keys, values)

	runtime.GC()
	runtime.ReadMemStats(&after)

	held := 0
	for _, k := range keys {
		if _, ok := c.Get(k); ok {
			held++
		}
	}
	c.Close()
	runtime.KeepAlive(c)
	if held == 0 {
		b.Fatal("cache holds no entries")
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(held), held
}
