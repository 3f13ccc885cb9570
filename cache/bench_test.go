package cache

import (
	"bytes"
	"context"
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

// BenchmarkGetWithTTL measures hits on expiring entries, which read the
// clock; BenchmarkGetParallel's entries expire too, with the default TTL.
func BenchmarkGetNoExpiration(b *testing.B) {
	const n = 10_000
	c := New[int, int](Options{MaxSize: n, DefaultTTL: NoExpiration})
	for i := range n {
		c.Put(i, i, DefaultTTL)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(i % n)
			i += 7
		}
	})
}

func BenchmarkGetWTinyLFU(b *testing.B) {
	const n = 10_000
	c := New[int, int](Options{MaxSize: n, Policy: WTinyLFU})
	for i := range n {
		c.Put(i, i, DefaultTTL)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Get(i % n)
			i += 7
		}
	})
}

func BenchmarkGetOrLoadHit(b *testing.B) {
	const n = 10_000
	c := New[int, int](Options{MaxSize: n})
	defer c.Close()
	for i := range n {
		c.Put(i, i, DefaultTTL)
	}
	load := func(_ context.Context, k int) (int, error) { return k, nil }
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.GetOrLoad(ctx, i%n, load)
			i += 7
		}
	})
}

// BenchmarkGetOrLoadMiss measures a miss that runs the loader on its own
// goroutine and stores the result (evicting, once full).
func BenchmarkGetOrLoadMiss(b *testing.B) {
	c := New[int, int](Options{MaxSize: 1000})
	defer c.Close()
	load := func(_ context.Context, k int) (int, error) { return k, nil }
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.GetOrLoad(ctx, i, load)
		i++
	}
}

// BenchmarkPutEvictHooks is BenchmarkPutEvict at 100k entries with an
// OnEvict hook and a byte budget: the extra cost of both features.
func BenchmarkPutEvictHooks(b *testing.B) {
	const n = 100_000
	var evicted int
	c := NewWith(Options{MaxSize: n, MaxBytes: 8 * n, DefaultTTL: time.Hour}, Hooks[int, int]{
		OnEvict: func(int, int, RemovalCause) { evicted++ },
		Weigher: func(int, int) int { return 8 },
	})
	for i := range n {
		c.Put(i, i, DefaultTTL)
	}
	b.ReportAllocs()
	i := n
	for b.Loop() {
		c.Put(i, i, DefaultTTL)
		i++
	}
}

// BenchmarkSaveLoad measures a snapshot round trip of 10k entries.
func BenchmarkSaveLoad(b *testing.B) {
	const n = 10_000
	c := New[string, string](Options{MaxSize: n})
	for i := range n {
		k := "key-" + strconv.Itoa(i)
		c.Put(k, k, DefaultTTL)
	}
	var buf bytes.Buffer
	dst := New[string, string](Options{MaxSize: n})
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.Save(&buf); err != nil {
			b.Fatal(err)
		}
		if err := dst.Load(&buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Cap())/n, "B/entry-snapshot")
}
