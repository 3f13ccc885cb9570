package cache

import (
	"testing"
	"time"
)

// TestEvictionCostIsFlat fails if a Put that evicts costs time linear in
// the number of entries: at 100k entries a scan would make each such Put
// about 100 times slower than at 1k; O(log n) costs a small factor. Each
// size is timed in several batches and the fastest batch counts, which
// keeps a busy machine from failing the test.
func TestEvictionCostIsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	small, large := evictCost(1_000), evictCost(100_000)
	ratio := float64(large) / float64(small)
	t.Logf("evicting Put: %v at 1k entries, %v at 100k (x%.1f)", small, large, ratio)
	if ratio > 20 {
		// Retry once before failing: one noisy measurement is not proof.
		small, large = evictCost(1_000), evictCost(100_000)
		if ratio = float64(large) / float64(small); ratio > 20 {
			t.Errorf("evicting Put costs %v at 1k entries, %v at 100k (x%.1f): grows like a scan", small, large, ratio)
		}
	}
}

// evictCost returns the fastest per-Put time over a few batches of Puts of
// new keys into a full cache of n entries, some of them read.
func evictCost(n int) time.Duration {
	c := New[int, int](Options{MaxSize: n, DefaultTTL: NoExpiration})
	for i := range n {
		c.Put(i, i, DefaultTTL)
		if i%3 == 0 {
			c.Get(i)
		}
	}
	const batch = 2000
	best := time.Duration(1 << 62)
	next := n
	for range 5 {
		start := time.Now()
		for range batch {
			c.Put(next, next, DefaultTTL)
			next++
		}
		best = min(best, time.Since(start)/batch)
	}
	return best
}
