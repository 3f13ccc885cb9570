package cache

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	clk := newFakeClock()
	c := New[int, int](Options{Now: clk.Now})
	for i := range 1001 {
		c.Put(i, i, DefaultTTL)
	}
	if got := c.Len(); got != 1000 {
		t.Errorf("Len after 1001 Puts = %d, want 1000 (default MaxSize)", got)
	}
	e, ok := c.Peek(1000)
	if !ok {
		t.Fatal("Peek(1000): newest key missing")
	}
	if got := e.ExpiresAt.Sub(e.CreatedAt); got != 5*time.Minute {
		t.Errorf("default TTL = %v, want 5m", got)
	}
	if !e.CreatedAt.Equal(clk.Now()) || e.CreatedAt != clk.Now() {
		t.Errorf("CreatedAt = %v, want %v", e.CreatedAt, clk.Now())
	}
}

func TestNegativeMaxSizePanics(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "cache: negative Options.MaxSize -1") {
			t.Errorf("New with MaxSize -1: recovered %v, want a panic naming MaxSize", r)
		}
	}()
	New[string, int](Options{MaxSize: -1})
}

func TestPutTTL(t *testing.T) {
	tests := []struct {
		name       string
		defaultTTL time.Duration
		ttl        time.Duration
		wantExp    time.Duration // 0: never expires
		wantLive   bool
	}{
		{"explicit", 0, time.Second, time.Second, true},
		{"default", 0, DefaultTTL, 5 * time.Minute, true},
		{"custom default", time.Hour, DefaultTTL, time.Hour, true},
		{"no default expiry", NoExpiration, DefaultTTL, 0, true},
		{"other negative default means none", -time.Hour, DefaultTTL, 0, true},
		{"no expiration", time.Second, NoExpiration, 0, true},
		{"other negative is already expired", 0, -time.Second, -time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			c := New[string, int](Options{DefaultTTL: tt.defaultTTL, Now: clk.Now})
			c.Put("k", 1, tt.ttl)
			e, ok := c.Peek("k")
			if ok != tt.wantLive {
				t.Fatalf("Peek ok = %v, want %v", ok, tt.wantLive)
			}
			if !ok {
				if c.Len() != 1 {
					t.Errorf("Len = %d, want 1 (stored, expired)", c.Len())
				}
				if _, hit := c.Get("k"); hit {
					t.Error("Get hit an already expired entry")
				}
				return
			}
			var want time.Time
			if tt.wantExp != 0 {
				want = clk.Now().Add(tt.wantExp)
			}
			if !e.ExpiresAt.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", e.ExpiresAt, want)
			}
		})
	}
}

func TestExpiryIsLazy(t *testing.T) {
	clk := newFakeClock()
	c := New[string, int](Options{Now: clk.Now})
	c.Put("a", 1, time.Second)
	c.Put("b", 2, time.Second)
	clk.Add(time.Second - 1)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("Get before ExpiresAt missed")
	}
	clk.Add(1)
	if _, ok := c.Peek("a"); ok {
		t.Error("Peek at ExpiresAt found the entry")
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2: expired entries stay until removed", c.Len())
	}
	if _, ok := c.Get("a"); ok {
		t.Error("Get at ExpiresAt hit")
	}
	if c.Len() != 1 {
		t.Errorf("Len after Get of expired = %d, want 1", c.Len())
	}
	if !c.Delete("b") {
		t.Error("Delete of an expired entry = false, want true")
	}
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 1 || s.Expirations != 1 || s.Evictions != 0 {
		t.Errorf("Stats = %+v, want 1 hit, 1 miss, 1 expiration", s)
	}
}

func TestBasicOps(t *testing.T) {
	c := New[string, string](Options{MaxSize: 10})
	if _, ok := c.Get("x"); ok {
		t.Error("Get on empty cache hit")
	}
	c.Put("x", "1", DefaultTTL)
	if v, ok := c.Get("x"); !ok || v != "1" {
		t.Errorf(`Get("x") = %q, %v, want "1", true`, v, ok)
	}
	c.Put("x", "2", DefaultTTL)
	if v, _ := c.Get("x"); v != "2" {
		t.Errorf(`Get after overwrite = %q, want "2"`, v)
	}
	if !c.Delete("x") || c.Delete("x") {
		t.Error("Delete should report true once, then false")
	}
	c.Put("", "zero key", NoExpiration)
	if v, ok := c.Get(""); !ok || v != "zero key" {
		t.Errorf("the zero key is an ordinary key; Get = %q, %v", v, ok)
	}
	c.Put("y", "", NoExpiration)
	if n := c.Clear(); n != 2 {
		t.Errorf("Clear = %d, want 2", n)
	}
	if c.Len() != 0 {
		t.Errorf("Len after Clear = %d", c.Len())
	}
	checkInvariants(t, c)
}

func TestNaNKeyIsNeverStored(t *testing.T) {
	c := New[float64, int](Options{MaxSize: 2})
	for range 5 {
		c.Put(math.NaN(), 1, NoExpiration)
	}
	if c.Len() != 0 {
		t.Errorf("Len = %d, want 0", c.Len())
	}
	checkInvariants(t, c)
}

func TestPurgeExpired(t *testing.T) {
	clk := newFakeClock()
	c := New[int, int](Options{Now: clk.Now})
	for i := range 10 {
		c.Put(i, i, time.Duration(i+1)*time.Second)
	}
	c.Put(100, 0, NoExpiration)
	clk.Add(5 * time.Second)
	if n := c.PurgeExpired(); n != 5 {
		t.Errorf("PurgeExpired = %d, want 5", n)
	}
	if c.Len() != 6 || c.Stats().Expirations != 5 {
		t.Errorf("Len, Expirations = %d, %d, want 6, 5", c.Len(), c.Stats().Expirations)
	}
	if n := c.PurgeExpired(); n != 0 {
		t.Errorf("second PurgeExpired = %d, want 0", n)
	}
	checkInvariants(t, c)
}

func TestPeekCountsNothing(t *testing.T) {
	c := New[string, int](Options{})
	c.Put("a", 1, DefaultTTL)
	c.Get("a")
	before := c.Stats()
	for range 3 {
		e, ok := c.Peek("a")
		if !ok || e.Value != 1 || e.AccessCount != 1 {
			t.Fatalf("Peek = %+v, %v, want value 1, AccessCount 1", e, ok)
		}
	}
	if _, ok := c.Peek("missing"); ok {
		t.Error("Peek of a missing key = true")
	}
	if after := c.Stats(); after != before {
		t.Errorf("Stats changed by Peek: %+v -> %+v", before, after)
	}
}

func TestStatsAndSummary(t *testing.T) {
	c := New[string, int](Options{MaxSize: 2, DefaultTTL: time.Minute})
	if s := c.Stats(); s.HitRate != 0 {
		t.Errorf("HitRate with no Get = %v, want 0", s.HitRate)
	}
	c.Put("a", 1, DefaultTTL)
	c.Get("a")
	c.Get("a")
	c.Get("a")
	c.Get("b")
	c.Put("b", 1, DefaultTTL)
	c.Put("c", 1, DefaultTTL)
	s := c.Stats()
	want := Stats{Size: 2, Hits: 3, Misses: 1, HitRate: 0.75, Evictions: 1}
	if s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	b, err := json.Marshal(c.Summary())
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"size":2`, `"max_size":2`, `"hits":3`, `"misses":1`, `"hit_rate":0.75`,
		`"evictions":1`, `"expirations":0`, `"default_ttl_seconds":60`, `"policy":"exact-lfu"`} {
		if !strings.Contains(string(b), field) {
			t.Errorf("Summary JSON %s lacks %s", b, field)
		}
	}
}
