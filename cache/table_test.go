package cache

import (
	"hash/maphash"
	"testing"
)

// TestTable checks the shard table against a Go map through inserts and
// removals, including keys forced into long shared probe sequences.
func TestTable(t *testing.T) {
	seed := maphash.MakeSeed()
	hashes := []struct {
		name string
		fn   func(int) uint64
	}{
		{"maphash", func(k int) uint64 { return maphash.Comparable(seed, k) }},
		{"clustered", func(k int) uint64 { return uint64(k%7) << hashShift }}, // 7 homes, many fragments equal
	}
	for _, hh := range hashes {
		t.Run(hh.name, func(t *testing.T) {
			tb := newTable[int, int]()
			model := map[int]*entry[int, int]{}
			rnd := uint64(7)
			for step := range 20000 {
				rnd ^= rnd << 13
				rnd ^= rnd >> 7
				rnd ^= rnd << 17
				k := int(rnd % 300)
				if hh.name == "clustered" {
					k %= 120 // keep probe sequences under the byte limit
				}
				h := hh.fn(k)
				if e, ok := model[k]; ok {
					if got := tb.get(h, k); got != e {
						t.Fatalf("step %d: get(%d) = %p, want %p", step, k, got, e)
					}
					if rnd%3 == 0 {
						tb.remove(h, e)
						delete(model, k)
					}
				} else {
					if got := tb.get(h, k); got != nil {
						t.Fatalf("step %d: get(%d) of an absent key = %v", step, k, got.key)
					}
					e := &entry[int, int]{key: k}
					tb.insert(h, e, hh.fn)
					model[k] = e
				}
				if tb.n != len(model) {
					t.Fatalf("step %d: n = %d, model %d", step, tb.n, len(model))
				}
			}
			seen := 0
			tb.all(func(e *entry[int, int]) bool {
				if model[e.key] != e {
					t.Fatalf("all yielded %d, not in the model", e.key)
				}
				seen++
				return true
			})
			if seen != len(model) {
				t.Errorf("all yielded %d entries, want %d", seen, len(model))
			}
			for i, m := range tb.meta {
				if m == 0 {
					continue
				}
				home := (hh.fn(tb.slots[i].key) >> hashShift) & tb.mask
				if d := (uint64(i) - home) & tb.mask; d != uint64(m&0xff)-1 {
					t.Fatalf("slot %d: recorded distance %d, actual %d", i, m&0xff-1, d)
				}
			}
		})
	}
}
