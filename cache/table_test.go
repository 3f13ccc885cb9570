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
			tb := new(table[int, int])
			tb.reset()
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
			d := tb.d.Load()
			for i := range d.slots {
				m := d.metaAt(uint64(i))
				if m == 0 {
					continue
				}
				home := (hh.fn(d.slots[i].Load().key) >> hashShift) & d.mask
				if d := (uint64(i) - home) & d.mask; d != uint64(m&0xff)-1 {
					t.Fatalf("slot %d: recorded distance %d, actual %d", i, m&0xff-1, d)
				}
			}
		})
	}
}

// A reader running beside a writer never misses a key that stays in the
// table, though inserts and removals move it along its probe sequence
// (the clustered hash makes every change move entries), and never finds
// a key that was never stored.
func TestTableReadersBesideWriter(t *testing.T) {
	hash := func(k int) uint64 { return uint64(k%5)<<hashShift | uint64(k%3)<<56 }
	tb := new(table[int, int])
	tb.reset()
	const stay = 40 // keys 0..39 stay; 1000.. come and go
	for k := range stay {
		tb.insert(hash(k), &entry[int, int]{key: k}, hash)
	}
	stop := background(2, func(r, i int) bool {
		k := (i + r) % stay
		if e := tb.get(hash(k), k); e == nil || e.key != k {
			t.Errorf("key %d missed beside the writer", k)
			return false
		}
		if e := tb.get(hash(-1-k), -1-k); e != nil {
			t.Errorf("key %d, never stored, found", -1-k)
			return false
		}
		return true
	})
	var live []*entry[int, int]
	for i := range 20000 {
		if len(live) < 60 && i%3 != 0 {
			e := &entry[int, int]{key: 1000 + i}
			tb.insert(hash(e.key), e, hash)
			live = append(live, e)
		} else if len(live) > 0 {
			j := i % len(live)
			tb.remove(hash(live[j].key), live[j])
			live = append(live[:j], live[j+1:]...)
		}
	}
	stop()
}
