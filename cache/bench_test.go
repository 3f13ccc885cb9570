package cache

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

var sizes = []int{1_000, 100_000, 1_000_000}

// BenchmarkPutEvict measures a Put of a new key into a full cache, which
// evicts one entry: its cost must stay flat as the cache grows.
func BenchmarkPutEvict(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			c := filled(n)
			b.ReportAllocs()
			i := n
			for b.Loop() {
				c.Put(i, i, DefaultTTL)
				i++
			}
		})
	}
}

// BenchmarkPutEvictWithHits is BenchmarkPutEvict where earlier entries were
// read, so the heap carries counts to repair lazily.
func BenchmarkPutEvictWithHits(b *testing.B) {
	for _, n := range sizes[:2] {
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			c := filled(n)
			for i := range n {
				for range i % 4 {
					c.Get(i)
				}
			}
			b.ReportAllocs()
			i := n
			for b.Loop() {
				c.Put(i, i, DefaultTTL)
				c.Get(i)
				i++
			}
		})
	}
}

func filled(n int) *Cache[int, int] {
	c := New[int, int](Options{MaxSize: n, DefaultTTL: time.Hour})
	for i := range n {
		c.Put(i, i, DefaultTTL)
	}
	return c
}

func BenchmarkGetParallel(b *testing.B) {
	const n = 10_000
	c := New[string, string](Options{MaxSize: n})
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		c.Put(keys[i], keys[i], DefaultTTL)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(keys[i%n])
			i += 7
		}
	})
}

func BenchmarkPutExisting(b *testing.B) {
	const n = 10_000
	c := New[string, string](Options{MaxSize: n})
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key-" + strconv.Itoa(i)
		c.Put(keys[i], keys[i], DefaultTTL)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Put(keys[i%n], "v", DefaultTTL)
		i++
	}
}
