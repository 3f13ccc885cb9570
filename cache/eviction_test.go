package cache

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// op is one step of an eviction scenario.
type op struct {
	kind string // "put", "get", "tick", "del"
	key  string
	ttl  time.Duration
}

func TestEvictionContract(t *testing.T) {
	tests := []struct {
		name            string
		max             int
		ops             []op
		want            []string
		wantEvictions   uint64
		wantExpirations uint64
	}{
		{
			name: "fewest accesses goes",
			max:  3,
			ops: []op{{"put", "a", 0}, {"put", "b", 0}, {"put", "c", 0},
				{"get", "a", 0}, {"get", "c", 0}, {"put", "d", 0}},
			want: []string{"a", "c", "d"}, wantEvictions: 1,
		},
		{
			name: "tie: oldest put goes",
			max:  3,
			ops:  []op{{"put", "a", 0}, {"put", "b", 0}, {"put", "c", 0}, {"put", "d", 0}},
			want: []string{"b", "c", "d"}, wantEvictions: 1,
		},
		{
			name: "tie on count, overwrite makes a key younger",
			max:  3,
			ops: []op{{"put", "a", 0}, {"put", "b", 0}, {"put", "c", 0},
				{"put", "a", 0}, {"put", "d", 0}},
			want: []string{"a", "c", "d"}, wantEvictions: 1,
		},
		{
			name: "overwrite resets the count",
			max:  3,
			ops: []op{{"put", "a", 0}, {"put", "b", 0}, {"put", "c", 0},
				{"get", "a", 0}, {"get", "a", 0}, {"get", "b", 0}, {"get", "c", 0},
				{"put", "a", 0}, {"put", "d", 0}},
			want: []string{"b", "c", "d"}, wantEvictions: 1,
		},
		{
			name: "overwrite at capacity never evicts",
			max:  2,
			ops:  []op{{"put", "a", 0}, {"put", "b", 0}, {"put", "a", 0}, {"put", "b", 0}},
			want: []string{"a", "b"},
		},
		{
			name: "expired entries go first, all of them",
			max:  4,
			ops: []op{{"put", "a", time.Second}, {"put", "b", time.Minute}, {"put", "c", time.Second},
				{"put", "d", time.Minute}, {"get", "b", 0}, {"get", "d", 0},
				{"tick", "", 2 * time.Second}, {"put", "e", 0}},
			want: []string{"b", "d", "e"}, wantExpirations: 2,
		},
		{
			name: "expired first even when it is the most accessed",
			max:  2,
			ops: []op{{"put", "a", time.Second}, {"get", "a", 0}, {"get", "a", 0}, {"put", "b", NoExpiration},
				{"tick", "", time.Second}, {"put", "c", 0}},
			want: []string{"b", "c"}, wantExpirations: 1,
		},
		{
			name: "not full: expired entries stay",
			max:  5,
			ops:  []op{{"put", "a", time.Second}, {"tick", "", time.Hour}, {"put", "b", 0}},
			want: []string{"a", "b"},
		},
		{
			name: "delete frees a slot",
			max:  2,
			ops:  []op{{"put", "a", 0}, {"put", "b", 0}, {"del", "a", 0}, {"put", "c", 0}},
			want: []string{"b", "c"},
		},
		{
			name: "max size one",
			max:  1,
			ops:  []op{{"put", "a", 0}, {"get", "a", 0}, {"put", "b", 0}},
			want: []string{"b"}, wantEvictions: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := New[string, int](Options{MaxSize: tt.max, Now: clk.Now})
			for _, o := range tt.ops {
				switch o.kind {
				case "put":
					c.Put(o.key, 1, o.ttl)
				case "get":
					c.Get(o.key)
				case "del":
					c.Delete(o.key)
				case "tick":
					clk.Add(o.ttl)
				}
				checkInvariants(t, c)
			}
			var got []string
			for k := range c.All() {
				got = append(got, k)
			}
			for i := range c.shards {
				c.shards[i].t.all(func(e *entry[string, int]) bool {
					if e.expiredAt(clk.Now().UnixNano()) {
						got = append(got, e.key) // expired but still stored
					}
					return true
				})
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("stored keys = %v, want %v", got, tt.want)
			}
			s := c.Stats()
			if s.Evictions != tt.wantEvictions || s.Expirations != tt.wantExpirations {
				t.Errorf("Evictions, Expirations = %d, %d, want %d, %d", s.Evictions, s.Expirations, tt.wantEvictions, tt.wantExpirations)
			}
		})
	}
}

// TestEvictionMatchesReference drives the cache and a naive model of the
// contract with the same pseudo-random operations and compares the keys,
// also with write orders renumbered every few writes (as they are every
// 2^32 writes).
func TestEvictionMatchesReference(t *testing.T) {
	for _, seqMax := range []uint32{math.MaxUint32, 40} {
		t.Run(fmt.Sprint("seqMax=", seqMax), func(t *testing.T) { testEvictionMatchesReference(t, seqMax) })
	}
}

func testEvictionMatchesReference(t *testing.T, seqMax uint32) {
	type ref struct {
		hits uint64
		seq  int
		exp  time.Time
	}
	clk := newFakeClock()
	const max = 16
	c := New[int, int](Options{MaxSize: max, Now: clk.Now})
	c.setSeqMax(uint64(seqMax))
	model := map[int]*ref{}
	seq := 0
	rnd := uint64(42)
	next := func(n uint64) int {
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		return int(rnd % n)
	}
	for step := range 20000 {
		k := next(40)
		now := clk.Now()
		switch next(10) {
		case 0, 1, 2, 3:
			if r, ok := model[k]; ok && now.Before(r.exp) {
				r.hits++
			} else if ok {
				delete(model, k)
			}
			c.Get(k)
		case 4, 5, 6, 7:
			ttl := time.Duration(1+next(50)) * time.Second
			seq++
			if r, ok := model[k]; ok {
				*r = ref{0, seq, now.Add(ttl)}
			} else {
				if len(model) >= max {
					removed := false
					for kk, r := range model {
						if !now.Before(r.exp) {
							delete(model, kk)
							removed = true
						}
					}
					if !removed {
						victim, best := 0, (*ref)(nil)
						for kk, r := range model {
							if best == nil || r.hits < best.hits || r.hits == best.hits && r.seq < best.seq {
								victim, best = kk, r
							}
						}
						delete(model, victim)
					}
				}
				model[k] = &ref{0, seq, now.Add(ttl)}
			}
			c.Put(k, k, ttl)
		case 8:
			delete(model, k)
			c.Delete(k)
		case 9:
			clk.Add(time.Duration(next(3)) * time.Second)
		}
		if c.Len() != len(model) {
			t.Fatalf("step %d: Len = %d, model %d", step, c.Len(), len(model))
		}
		for kk, r := range model {
			e, ok := c.Peek(kk)
			live := clk.Now().Before(r.exp)
			if ok != live || ok && e.AccessCount != r.hits {
				t.Fatalf("step %d: key %d: Peek = %+v, %v; model %+v", step, kk, e, ok, r)
			}
		}
	}
	checkInvariants(t, c)
}
