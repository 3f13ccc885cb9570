package cache

import "time"

// Stats are the cache's counters, as returned by [Cache.Stats]. Counters
// only grow; Clear and Load keep them.
type Stats struct {
	Size        int     // entries stored, as Len
	Hits        uint64  // Gets and GetOrLoads answered from a live entry
	Misses      uint64  // Gets and GetOrLoads that found no live entry; a Get of an expired entry is a miss
	HitRate     float64 // Hits / (Hits + Misses), 0..1; 0 when there was no Get
	Evictions   uint64  // live entries removed to make room
	Expirations uint64  // expired entries removed (by Get, PurgeExpired, or a Put that needed room)

	StaleServed uint64 // GetOrLoad answers served from a stale entry after a failed load
	Loads       uint64 // calls of a loader, by GetOrLoad misses and refreshes
	LoadErrors  uint64 // loads that failed: returned an error (ErrNotFound included) or panicked
	Refreshes   uint64 // background refreshes started by RefreshAhead
	Bytes       int64  // sum of Hooks.Weigher over the entries; 0 without a Weigher
}

// Stats returns the current counters. It visits each of the 64 reader
// locks once; it costs nothing per entry.
func (c *Cache[K, V]) Stats() Stats {
	var s Stats
	s.Hits, s.Misses = c.readerCounts()
	if n := s.Hits + s.Misses; n > 0 {
		s.HitRate = float64(s.Hits) / float64(n)
	}
	c.mu.Lock()
	s.Size = c.n
	s.Evictions = c.evictions
	s.Expirations = c.expirations
	s.Bytes = c.bytes
	c.mu.Unlock()
	s.StaleServed = c.staleServed.Load()
	s.Loads = c.loadCount.Load()
	s.LoadErrors = c.loadErrors.Load()
	s.Refreshes = c.refreshes.Load()
	return s
}

// Summary is a JSON-friendly status of a cache, for status endpoints.
type Summary struct {
	Size              int     `json:"size"`
	MaxSize           int     `json:"max_size"`
	Bytes             int64   `json:"bytes"`
	MaxBytes          int64   `json:"max_bytes"`           // 0: no byte budget
	DefaultTTLSeconds float64 `json:"default_ttl_seconds"` // 0: entries do not expire by default
	Policy            string  `json:"policy"`              // "exact-lfu" or "w-tinylfu"
	Hits              uint64  `json:"hits"`
	Misses            uint64  `json:"misses"`
	HitRate           float64 `json:"hit_rate"`
	Evictions         uint64  `json:"evictions"`
	Expirations       uint64  `json:"expirations"`
	StaleServed       uint64  `json:"stale_served"`
	Loads             uint64  `json:"loads"`
	LoadErrors        uint64  `json:"load_errors"`
	Refreshes         uint64  `json:"refreshes"`
}

// Summary returns the cache's configuration and counters. It is as cheap
// as Stats.
func (c *Cache[K, V]) Summary() Summary {
	s := c.Stats()
	out := Summary{
		Size:        s.Size,
		MaxSize:     c.cfg.maxSize,
		Bytes:       s.Bytes,
		MaxBytes:    c.cfg.maxBytes,
		Policy:      c.cfg.policy.String(),
		Hits:        s.Hits,
		Misses:      s.Misses,
		HitRate:     s.HitRate,
		Evictions:   s.Evictions,
		Expirations: s.Expirations,
		StaleServed: s.StaleServed,
		Loads:       s.Loads,
		LoadErrors:  s.LoadErrors,
		Refreshes:   s.Refreshes,
	}
	if c.cfg.defaultTTL > 0 {
		out.DefaultTTLSeconds = time.Duration(c.cfg.defaultTTL).Seconds()
	}
	return out
}

// removal is one entry that left the cache, waiting for Hooks.OnEvict.
type removal[K comparable, V any] struct {
	key   K
	value V
	cause RemovalCause
}

// removals collects what a call removed while it held the lock, so that
// OnEvict runs after the lock is released. The first removal needs no
// allocation.
type removals[K comparable, V any] struct {
	n     int
	first removal[K, V]
	rest  []removal[K, V]
}

// removed records a removal if there is an OnEvict hook.
func (c *Cache[K, V]) removed(r *removals[K, V], key K, value V, cause RemovalCause) {
	if c.hooks.OnEvict == nil {
		return
	}
	if r.n == 0 {
		r.first = removal[K, V]{key, value, cause}
	} else {
		r.rest = append(r.rest, removal[K, V]{key, value, cause})
	}
	r.n++
}

// notify calls OnEvict for what r collected. The caller holds no lock.
func (c *Cache[K, V]) notify(r *removals[K, V]) {
	if r.n == 0 {
		return
	}
	c.hooks.OnEvict(r.first.key, r.first.value, r.first.cause)
	for _, x := range r.rest {
		c.hooks.OnEvict(x.key, x.value, x.cause)
	}
}
