package cache

import (
	"bytes"
	"fmt"
	"testing"
)

// sameGroupKeys returns n keys whose shards are in one group.
func sameGroupKeys(c *Cache[string, int], n int) []string {
	var keys []string
	want := uint64(0)
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprint("k", i)
		if g := c.groupOf(c.hash(k)); len(keys) == 0 {
			want = g
			keys = append(keys, k)
		} else if g == want {
			keys = append(keys, k)
		}
	}
	return keys
}

// An overwrite made without the lock after the eviction heap took in the
// earlier ones, but before the victim is removed, changes the victim when
// it is in the victim's group: the removal sees the waiting record, and
// the heap chooses again with it.
func TestOverwriteBetweenDrainAndEviction(t *testing.T) {
	withProcs(t, 2, func() {
		c := New[string, int](Options{MaxSize: 2, DefaultTTL: NoExpiration})
		if !c.fastWrites {
			t.Fatal("no fast overwrites with GOMAXPROCS 2")
		}
		k := sameGroupKeys(c, 3)
		a, b, n := k[0], k[1], k[2]
		c.Put(a, 1, NoExpiration)
		c.Put(b, 2, NoExpiration)
		for range 3 {
			c.Get(a)
		}
		for range 2 {
			c.Get(b) // b, with fewer accesses, is the victim
		}
		calls := 0
		c.afterDrain = func() {
			calls++
			if calls == 1 {
				// Without the lock, as a Put on another goroutine would.
				var r removals[string, int]
				if done, _ := c.putFast(c.hash(a), a, 10, c.clock.nano(), 0, &r); !done {
					t.Error("overwrite of a took the slow path")
				}
			}
		}
		c.Put(n, 3, NoExpiration)
		if calls != 2 {
			t.Fatalf("victim chosen %d times, want 2 (the removal should have seen the record)", calls)
		}
		if _, ok := c.Peek(a); ok {
			t.Error("a, overwritten to 0 accesses, survived")
		}
		if e, ok := c.Peek(b); !ok || e.AccessCount != 2 {
			t.Errorf("b = %+v, %v; want kept with 2 accesses", e, ok)
		}
		checkInvariants(t, c)
	})
}

// Overwrites that keep hitting the victim's group stop being made
// without the lock after two tries, so an eviction always ends, and they
// resume after it.
func TestEvictionStopsOverwritesThatKeepComing(t *testing.T) {
	withProcs(t, 2, func() {
		c := New[string, int](Options{MaxSize: 2, DefaultTTL: NoExpiration})
		k := sameGroupKeys(c, 3)
		c.Put(k[0], 1, NoExpiration)
		c.Put(k[1], 2, NoExpiration)
		calls := 0
		c.afterDrain = func() {
			calls++
			if !c.fastOff.Load() {
				var r removals[string, int]
				if done, _ := c.putFast(c.hash(k[calls%2]), k[calls%2], calls, c.clock.nano(), 0, &r); !done {
					t.Error("overwrite took the slow path before the eviction stopped them")
				}
			}
		}
		c.Put(k[2], 3, NoExpiration)
		if calls != 3 {
			t.Fatalf("victim chosen %d times, want 3", calls)
		}
		if c.fastOff.Load() {
			t.Fatal("overwrites still stopped after the eviction")
		}
		if c.Len() != 2 {
			t.Fatalf("Len = %d, want 2", c.Len())
		}
		checkInvariants(t, c)
	})
}

// Save, Peek and evictions running beside overwrites without the lock
// see every entry whole and keep the structures consistent.
func TestSaveAndEvictBesideFastOverwrites(t *testing.T) {
	withProcs(t, 4, func() {
		c := New[int, int](Options{MaxSize: 64, DefaultTTL: NoExpiration})
		for k := range 64 {
			c.Put(k, k, NoExpiration)
		}
		stop := background(3, func(w, i int) bool {
			k := (i*7 + w) % 64
			c.Put(k, k, NoExpiration) // mostly overwrites
			c.Get(k)
			return true
		})
		for i := range 300 {
			var buf bytes.Buffer
			if err := c.Save(&buf); err != nil {
				t.Fatal(err)
			}
			c.Put(1000+i, i, NoExpiration) // evicts
			c.Peek(i % 64)
		}
		stop()
		checkInvariants(t, c)
	})
}
