package cache

import (
	"slices"
	"testing"
	"time"
)

type removedItem struct {
	key   string
	value int
	cause RemovalCause
}

func TestOnEvictCauses(t *testing.T) {
	clk := newFakeClock()
	var got []removedItem
	var c *Cache[string, int]
	c = NewWith(Options{MaxSize: 2, Now: clk.Now}, Hooks[string, int]{
		OnEvict: func(k string, v int, cause RemovalCause) {
			got = append(got, removedItem{k, v, cause})
			c.Len() // the hook may call the cache: no lock is held
			c.Peek(k)
		},
	})
	c.Put("a", 1, time.Second)
	c.Put("a", 2, time.Second) // Replaced a=1
	c.Put("b", 3, NoExpiration)
	c.Get("b")
	c.Put("c", 4, NoExpiration) // Evicted a=2 (fewest accesses)
	c.Delete("c")               // Deleted c=4
	c.Put("d", 5, time.Second)
	clk.Add(time.Second)
	c.Get("d") // Expired d=5
	c.Put("e", 6, NoExpiration)
	c.Clear() // Cleared b=3, e=6 (any order)
	want := []removedItem{
		{"a", 1, Replaced}, {"a", 2, Evicted}, {"c", 4, Deleted}, {"d", 5, Expired},
	}
	if len(got) != 6 || !slices.Equal(got[:4], want) {
		t.Fatalf("OnEvict calls = %v, want %v then two Cleared", got, want)
	}
	cleared := got[4:]
	slices.SortFunc(cleared, func(a, b removedItem) int { return a.value - b.value })
	if !slices.Equal(cleared, []removedItem{{"b", 3, Cleared}, {"e", 6, Cleared}}) {
		t.Errorf("Clear reported %v", cleared)
	}
}

func TestRemovalCauseString(t *testing.T) {
	tests := []struct {
		c    RemovalCause
		want string
	}{
		{Evicted, "evicted"}, {Expired, "expired"}, {Deleted, "deleted"},
		{Replaced, "replaced"}, {Cleared, "cleared"}, {RemovalCause(42), "RemovalCause(42)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("RemovalCause(%d).String() = %q, want %q", int(tt.c), got, tt.want)
		}
	}
	if ExactLFU.String() != "exact-lfu" || WTinyLFU.String() != "w-tinylfu" {
		t.Error("Policy.String")
	}
}

func TestMaxBytes(t *testing.T) {
	var evicted []string
	c := NewWith(Options{MaxSize: 100, MaxBytes: 10}, Hooks[string, string]{
		Weigher: func(k, v string) int { return len(v) },
		OnEvict: func(k, v string, cause RemovalCause) {
			if cause == Evicted {
				evicted = append(evicted, k)
			}
		},
	})
	c.Put("a", "xxxx", DefaultTTL) // 4
	c.Put("b", "xxxx", DefaultTTL) // 8
	c.Get("a")
	c.Put("c", "xxxx", DefaultTTL) // 12 > 10: evict b (fewest accesses)
	if !slices.Equal(evicted, []string{"b"}) || c.Stats().Bytes != 8 {
		t.Fatalf("evicted %v, bytes %d; want [b], 8", evicted, c.Stats().Bytes)
	}
	c.Put("c", "xxxxxx", DefaultTTL) // replacement grows to 10: fits
	if c.Len() != 2 || c.Stats().Bytes != 10 {
		t.Fatalf("Len %d bytes %d after growing c, want 2, 10", c.Len(), c.Stats().Bytes)
	}
	c.Put("c", "xxxxxxxx", DefaultTTL) // 12: the replacement evicts a, never itself
	if v, ok := c.Get("c"); !ok || v != "xxxxxxxx" || !slices.Equal(evicted, []string{"b", "a"}) {
		t.Fatalf("after growing c again: Get = %q, %v; evicted %v", v, ok, evicted)
	}
	c.Put("big", "xxxxxxxxxxxx", DefaultTTL) // heavier than the budget: not stored
	if _, ok := c.Get("big"); ok || c.Len() != 1 {
		t.Errorf("an entry heavier than MaxBytes was stored (Len %d)", c.Len())
	}
	if !slices.Equal(evicted, []string{"b", "a", "big"}) {
		t.Errorf("evicted %v", evicted)
	}
	checkInvariants(t, c)
}

// All yields no key twice while inserts and evictions move entries
// between the slots of the tables it walks.
func TestAllBesideInserts(t *testing.T) {
	withProcs(t, 2, func() {
		c := New[int, int](Options{MaxSize: 4096, DefaultTTL: NoExpiration})
		for k := range 4096 {
			c.Put(k, k, NoExpiration)
		}
		stop := background(1, func(_, i int) bool {
			c.Put(4096+i, i, NoExpiration) // a new key, evicting one
			return true
		})
		defer stop()
		for round := range 300 {
			seen := map[int]bool{}
			for k := range c.All() {
				if seen[k] {
					t.Fatalf("round %d: key %d yielded twice", round, k)
				}
				seen[k] = true
			}
		}
	})
}

func TestAll(t *testing.T) {
	clk := newFakeClock()
	c := New[int, int](Options{Now: clk.Now})
	for i := range 100 {
		c.Put(i, i*i, time.Duration(1+i%2)*time.Second)
	}
	clk.Add(time.Second) // even keys expire
	got := map[int]int{}
	for k, v := range c.All() {
		if k >= 1000 {
			continue // written during the iteration: may or may not be seen
		}
		got[k] = v
		c.Put(1000+k, 0, NoExpiration) // writing during the iteration is allowed
	}
	if len(got) != 50 {
		t.Errorf("All yielded %d entries, want the 50 live ones", len(got))
	}
	for k, v := range got {
		if k%2 == 0 || v != k*k {
			t.Errorf("All yielded %d=%d", k, v)
		}
	}
	n := 0
	for range c.All() {
		n++
		if n == 3 {
			break
		}
	}
	if s := c.Stats(); s.Hits != 0 || s.Misses != 0 {
		t.Errorf("All changed Stats: %+v", s)
	}
}

// TestExpiredReplacementOverBudget overwrites a key with an already expired
// value that overflows MaxBytes: the other entry goes, the key stays.
func TestExpiredReplacementOverBudget(t *testing.T) {
	c := NewWith(Options{MaxBytes: 10}, Hooks[string, string]{
		Weigher: func(k, v string) int { return len(v) },
	})
	c.Put("p", "xx", DefaultTTL)
	c.Put("c", "xxxxxxxx", DefaultTTL)
	c.Put("c", "xxxxxxxxx", -time.Second)
	if c.Len() != 1 || c.Stats().Bytes != 9 {
		t.Errorf("Len %d, bytes %d, want 1, 9", c.Len(), c.Stats().Bytes)
	}
	if _, ok := c.Peek("p"); ok {
		t.Error("p was not evicted")
	}
	checkInvariants(t, c)
}
