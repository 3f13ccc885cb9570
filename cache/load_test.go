package cache

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestGetOrLoadSharesOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{})
		defer c.Close()
		var calls atomic.Int32
		load := func(ctx context.Context, k string) (int, error) {
			calls.Add(1)
			time.Sleep(time.Second)
			return len(k), nil
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				v, err := c.GetOrLoad(t.Context(), "abc", load)
				if v != 3 || err != nil {
					t.Errorf("GetOrLoad = %d, %v, want 3, nil", v, err)
				}
			})
		}
		wg.Wait()
		if n := calls.Load(); n != 1 {
			t.Errorf("loader called %d times, want 1", n)
		}
		if v, ok := c.Get("abc"); !ok || v != 3 {
			t.Errorf("Get after load = %d, %v", v, ok)
		}
		if v, _ := c.GetOrLoad(t.Context(), "abc", load); v != 3 || calls.Load() != 1 {
			t.Errorf("hit called the loader again")
		}
		s := c.Stats()
		if s.Loads != 1 || s.Misses != 10 || s.Hits != 2 {
			t.Errorf("Stats = %+v, want 1 load, 10 misses, 2 hits", s)
		}
	})
}

func TestGetOrLoadCallerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{})
		defer c.Close()
		release := make(chan struct{})
		var loaderCtxErr error
		load := func(ctx context.Context, k string) (int, error) {
			<-release
			loaderCtxErr = ctx.Err()
			return 7, nil
		}
		ctx1, cancel1 := context.WithCancel(t.Context())
		first := make(chan error)
		go func() {
			_, err := c.GetOrLoad(ctx1, "k", load) // starts the load
			first <- err
		}()
		synctest.Wait()
		second := make(chan int)
		go func() {
			v, err := c.GetOrLoad(t.Context(), "k", load)
			if err != nil {
				t.Errorf("second caller: %v", err)
			}
			second <- v
		}()
		synctest.Wait()
		cancel1()
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled starter got %v, want context.Canceled at once", err)
		}
		close(release)
		if v := <-second; v != 7 {
			t.Errorf("second caller got %d, want 7", v)
		}
		if loaderCtxErr != nil {
			t.Errorf("loader's ctx was cancelled with its starter: %v", loaderCtxErr)
		}
		synctest.Wait()
		if v, ok := c.Get("k"); !ok || v != 7 {
			t.Errorf("loaded value not stored: %d, %v", v, ok)
		}
		ctx3, cancel3 := context.WithCancel(t.Context())
		cancel3()
		if _, err := c.GetOrLoad(ctx3, "other", load); !errors.Is(err, context.Canceled) {
			t.Errorf("GetOrLoad with a done ctx = %v", err)
		}
	})
}

func TestWriteDuringLoadWins(t *testing.T) {
	tests := []struct {
		name  string
		write func(c *Cache[string, string])
		want  string // "" means absent
	}{
		{"put", func(c *Cache[string, string]) { c.Put("k", "put", DefaultTTL) }, "put"},
		{"delete", func(c *Cache[string, string]) { c.Delete("k") }, ""},
		{"clear", func(c *Cache[string, string]) { c.Clear() }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string, string](Options{})
				defer c.Close()
				release := make(chan struct{})
				done := make(chan string)
				go func() {
					v, _ := c.GetOrLoad(t.Context(), "k", func(context.Context, string) (string, error) {
						<-release
						return "loaded", nil
					})
					done <- v
				}()
				synctest.Wait()
				tt.write(c)
				close(release)
				if v := <-done; v != "loaded" {
					t.Errorf("waiter got %q, want the load's own value", v)
				}
				synctest.Wait()
				v, _ := c.Get("k")
				if v != tt.want {
					t.Errorf("after the load: Get = %q, want %q", v, tt.want)
				}
			})
		})
	}
}

func TestLoaderPanicAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{})
		defer c.Close()
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				_, err := c.GetOrLoad(t.Context(), "k", func(context.Context, string) (int, error) {
					time.Sleep(time.Second)
					panic("boom")
				})
				var pe *PanicError
				if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
					t.Errorf("waiter got %v, want a *PanicError for boom", err)
				}
			})
		}
		wg.Wait()

		fail := errors.New("backend down")
		calls := 0
		load := func(context.Context, string) (int, error) { calls++; return 0, fail }
		for range 2 {
			if _, err := c.GetOrLoad(t.Context(), "k", load); !errors.Is(err, fail) {
				t.Errorf("GetOrLoad = %v, want the loader's error", err)
			}
		}
		if calls != 2 {
			t.Errorf("loader called %d times, want 2: errors are not cached", calls)
		}
		if c.Len() != 0 {
			t.Errorf("Len = %d after failed loads", c.Len())
		}
		if s := c.Stats(); s.Loads != 3 || s.LoadErrors != 3 {
			t.Errorf("Loads, LoadErrors = %d, %d, want 3, 3", s.Loads, s.LoadErrors)
		}
	})
}

func TestNegativeTTL(t *testing.T) {
	tests := []struct {
		name      string
		negTTL    time.Duration
		wantCalls int
	}{
		{"not remembered", 0, 3},
		{"remembered", time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := New[string, int](Options{NegativeTTL: tt.negTTL})
				defer c.Close()
				calls := 0
				load := func(context.Context, string) (int, error) { calls++; return 0, ErrNotFound }
				for range 3 {
					if _, err := c.GetOrLoad(t.Context(), "k", load); !errors.Is(err, ErrNotFound) {
						t.Fatalf("GetOrLoad = %v, want ErrNotFound", err)
					}
				}
				if calls != tt.wantCalls {
					t.Errorf("loader calls = %d, want %d", calls, tt.wantCalls)
				}
				if _, ok := c.Get("k"); ok {
					t.Error("Get hit a remembered ErrNotFound")
				}
				if tt.negTTL > 0 {
					time.Sleep(tt.negTTL)
					c.GetOrLoad(t.Context(), "k", load)
					if calls != 2 {
						t.Errorf("after NegativeTTL the loader should run again; calls = %d", calls)
					}
				}
			})
		})
	}
}

func TestStaleFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, string](Options{DefaultTTL: time.Minute, StaleFor: time.Hour})
		defer c.Close()
		fail := errors.New("origin down")
		ok := func(context.Context, string) (string, error) { return "fresh", nil }
		bad := func(context.Context, string) (string, error) { return "", fail }

		c.Put("k", "old", DefaultTTL)
		time.Sleep(2 * time.Minute)
		if _, hit := c.Get("k"); hit {
			t.Error("Get returned a stale entry")
		}
		v, err := c.GetOrLoad(t.Context(), "k", bad)
		if v != "old" || err != nil {
			t.Errorf("GetOrLoad with failing loader in the stale window = %q, %v, want old, nil", v, err)
		}
		if s := c.Stats(); s.StaleServed != 1 {
			t.Errorf("StaleServed = %d, want 1", s.StaleServed)
		}
		if v, err := c.GetOrLoad(t.Context(), "k", ok); v != "fresh" || err != nil {
			t.Errorf("successful load = %q, %v", v, err)
		}
		time.Sleep(time.Minute + time.Hour)
		if _, err := c.GetOrLoad(t.Context(), "k", bad); !errors.Is(err, fail) {
			t.Errorf("past the stale window = %v, want the loader's error", err)
		}
		if n := c.PurgeExpired(); n != 1 || c.Len() != 0 {
			t.Errorf("PurgeExpired = %d, Len = %d, want 1, 0", n, c.Len())
		}
	})
}

func TestRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{DefaultTTL: time.Minute, RefreshAhead: 10 * time.Second})
		var calls atomic.Int32
		load := func(context.Context, string) (int, error) {
			n := calls.Add(1)
			time.Sleep(time.Second)
			return int(n), nil
		}
		if v, _ := c.GetOrLoad(t.Context(), "k", load); v != 1 {
			t.Fatalf("first load = %d", v)
		}
		time.Sleep(45 * time.Second)
		c.GetOrLoad(t.Context(), "k", load) // 15s left: no refresh
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatalf("refreshed outside the window")
		}
		time.Sleep(10 * time.Second) // 5s left
		for range 5 {
			if v, err := c.GetOrLoad(t.Context(), "k", load); v != 1 || err != nil {
				t.Errorf("hit in the window = %d, %v, want the current value at once", v, err)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := calls.Load(); n != 2 {
			t.Errorf("loader calls = %d, want 2 (exactly one refresh)", n)
		}
		e, _ := c.Peek("k")
		if e.Value != 2 {
			t.Errorf("after refresh value = %d, want 2", e.Value)
		}
		if s := c.Stats(); s.Refreshes != 1 {
			t.Errorf("Refreshes = %d", s.Refreshes)
		}
		c.Close()
	})
}

func TestCloseStopsRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{DefaultTTL: time.Minute, RefreshAhead: time.Minute})
		c.Put("k", 1, DefaultTTL)
		stopped := false
		c.GetOrLoad(t.Context(), "k", func(ctx context.Context, _ string) (int, error) {
			<-ctx.Done() // a refresh that only ends when cancelled
			stopped = true
			return 0, ctx.Err()
		})
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if !stopped {
			t.Error("Close returned before the refresh stopped")
		}
		c.Close() // twice is fine
		// After Close, loads run on the caller's goroutine.
		if v, err := c.GetOrLoad(t.Context(), "x", func(context.Context, string) (int, error) { return 5, nil }); v != 5 || err != nil {
			t.Errorf("GetOrLoad after Close = %d, %v", v, err)
		}
	})
}

func TestTTLJitter(t *testing.T) {
	clk := newFakeClock()
	c := New[int, int](Options{Now: clk.Now, DefaultTTL: 100 * time.Second, TTLJitter: 0.1})
	seen := map[time.Duration]bool{}
	for i := range 200 {
		c.Put(i, i, DefaultTTL)
		e, _ := c.Peek(i)
		d := e.ExpiresAt.Sub(e.CreatedAt)
		if d < 90*time.Second || d > 110*time.Second {
			t.Fatalf("jittered TTL %v outside 100s ±10%%", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct TTLs out of 200: no jitter", len(seen))
	}
	c.Put(-1, 0, NoExpiration)
	if e, _ := c.Peek(-1); !e.ExpiresAt.IsZero() {
		t.Error("NoExpiration got jitter")
	}
}

func TestLoaderGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{})
		defer c.Close()
		_, err := c.GetOrLoad(t.Context(), "k", func(context.Context, string) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		if !errors.Is(err, errGoexit) {
			t.Errorf("GetOrLoad with a loader calling Goexit = %v", err)
		}
	})
}

func TestStaleEntriesGoFirstWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{MaxSize: 2, DefaultTTL: time.Minute, StaleFor: time.Hour})
		c.Put("stale", 1, DefaultTTL)
		c.Put("live", 2, NoExpiration)
		time.Sleep(2 * time.Minute)
		if n := c.PurgeExpired(); n != 0 {
			t.Errorf("PurgeExpired within the stale window removed %d", n)
		}
		c.Put("new", 3, DefaultTTL)
		if _, ok := c.Peek("live"); !ok || c.Len() != 2 {
			t.Errorf("a full cache evicted a live entry before the stale one (Len %d)", c.Len())
		}
		if s := c.Stats(); s.Expirations != 1 || s.Evictions != 0 {
			t.Errorf("Stats = %+v, want 1 expiration", s)
		}
	})
}

func TestFeaturesUnderWTinyLFU(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := New[string, int](Options{Policy: WTinyLFU, MaxSize: 10, DefaultTTL: time.Minute, StaleFor: time.Hour})
		defer c.Close()
		load := func(_ context.Context, k string) (int, error) { return len(k), nil }
		if v, err := c.GetOrLoad(t.Context(), "abc", load); v != 3 || err != nil {
			t.Fatalf("GetOrLoad = %d, %v", v, err)
		}
		c.Get("abc")
		var buf bytes.Buffer
		if err := c.Save(&buf); err != nil {
			t.Fatal(err)
		}
		d := New[string, int](Options{Policy: WTinyLFU, MaxSize: 10})
		if err := d.Load(&buf); err != nil {
			t.Fatal(err)
		}
		if e, ok := d.Peek("abc"); !ok || e.Value != 3 || e.AccessCount != 1 {
			t.Errorf("after Load: %+v, %v", e, ok)
		}
		time.Sleep(2 * time.Minute)
		fail := errors.New("down")
		if v, err := c.GetOrLoad(t.Context(), "abc", func(context.Context, string) (int, error) { return 0, fail }); v != 3 || err != nil {
			t.Errorf("stale-if-error under WTinyLFU = %d, %v", v, err)
		}
		checkInvariants(t, c)
	})
}
