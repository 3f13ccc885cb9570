package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentUse hammers one small cache from many goroutines with every
// operation and checks what each caller can see, the removal accounting and
// the internal structures afterwards.
func TestConcurrentUse(t *testing.T) {
	for _, p := range []Policy{ExactLFU, WTinyLFU} {
		t.Run(p.String(), func(t *testing.T) { testConcurrentUse(t, p) })
	}
}

func testConcurrentUse(t *testing.T, p Policy) {
	clk := newFakeClock()
	var removed [5]atomic.Int64
	c := NewWith(Options{MaxSize: 64, Now: clk.Now, Policy: p}, Hooks[int, string]{
		OnEvict: func(k int, v string, cause RemovalCause) {
			if want := fmt.Sprint(k); v[:len(want)] != want {
				panic(fmt.Sprintf("OnEvict(%d, %q): value of another key", k, v))
			}
			removed[cause].Add(1)
		},
	})
	const workers, steps = 8, 3000
	var puts atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := uint64(w + 1)
			for i := range steps {
				rnd ^= rnd << 13
				rnd ^= rnd >> 7
				rnd ^= rnd << 17
				k := int(rnd % 200)
				switch rnd % 97 {
				case 0:
					c.Clear()
				case 1:
					c.PurgeExpired()
				case 2:
					clk.Add(time.Second)
				case 3:
					for k, v := range c.All() {
						if want := fmt.Sprint(k); v[:len(want)] != want {
							t.Errorf("All yielded %d=%q", k, v)
						}
					}
				default:
					switch rnd % 4 {
					case 0:
						v, err := c.GetOrLoad(t.Context(), k, func(_ context.Context, k int) (string, error) {
							if k%5 == 0 {
								return "", errors.New("no")
							}
							return fmt.Sprintf("%d/load", k), nil
						})
						if want := fmt.Sprint(k); err == nil && v[:len(want)] != want {
							t.Errorf("GetOrLoad(%d) = %q: value of another key", k, v)
						}
					case 1:
						if v, ok := c.Get(k); ok {
							if want := fmt.Sprint(k); v[:len(want)] != want {
								t.Errorf("Get(%d) = %q: value of another key", k, v)
							}
						}
					case 2:
						c.Put(k, fmt.Sprintf("%d/%d", k, i), time.Duration(1+rnd%5)*time.Second)
						puts.Add(1)
					case 3:
						c.Delete(k)
					}
				}
				if n := c.Len(); n > 64 {
					t.Errorf("Len = %d > MaxSize", n)
				}
			}
		})
	}
	wg.Wait()
	c.Close()
	checkInvariants(t, c)
	var total int64
	for i := range removed {
		total += removed[i].Load()
	}
	// Every Put and every stored load either stays or is removed exactly
	// once; a load is not stored when a write superseded it.
	s := c.Stats()
	stored := int64(s.Loads - s.LoadErrors)
	if got := int64(c.Len()) + total; got < puts.Load() || got > puts.Load()+stored {
		t.Errorf("Len + OnEvict calls = %d, want Puts (%d) plus at most the %d successful loads", got, puts.Load(), stored)
	}
	if uint64(removed[Evicted].Load()) != s.Evictions || uint64(removed[Expired].Load()) != s.Expirations {
		t.Errorf("OnEvict evicted/expired = %d/%d, Stats %d/%d", removed[Evicted].Load(), removed[Expired].Load(), s.Evictions, s.Expirations)
	}
}

// TestGetRacingOverwriteAndEviction checks that a Get returns either a
// complete value the key had or a miss, while other goroutines overwrite,
// evict and delete it.
func TestGetRacingOverwriteAndEviction(t *testing.T) {
	type pair struct{ a, b int }
	c := New[int, pair](Options{MaxSize: 8, DefaultTTL: NoExpiration})
	stop := background(2, func(w, i int) bool {
		k := (i + w) % 16
		c.Put(k, pair{k, -k}, DefaultTTL)
		if i%7 == 0 {
			c.Delete(k)
		}
		return true
	})
	var hits int
	for i := range 20000 {
		k := i % 16
		if p, ok := c.Get(k); ok {
			hits++
			if p.a != -p.b || p.a != k {
				t.Fatalf("Get(%d) = %+v: torn or foreign value", k, p)
			}
		}
		if e, ok := c.Peek(k); ok && e.Value.a != k {
			t.Fatalf("Peek(%d) = %+v", k, e.Value)
		}
	}
	stop()
	checkInvariants(t, c)
	if hits == 0 {
		t.Log("no hits: the race was not exercised this run")
	}
}

// TestCountsAreExact checks that concurrent Gets of one key are all counted.
func TestCountsAreExact(t *testing.T) {
	c := New[string, int](Options{})
	c.Put("k", 1, NoExpiration)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 1000 {
				c.Get("k")
			}
		})
	}
	wg.Wait()
	if e, _ := c.Peek("k"); e.AccessCount != 4000 {
		t.Errorf("AccessCount = %d, want 4000", e.AccessCount)
	}
	if s := c.Stats(); s.Hits != 4000 {
		t.Errorf("Hits = %d, want 4000", s.Hits)
	}
}
