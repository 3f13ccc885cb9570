package bench_test

import (
	"time"

	"github.com/Yiling-J/theine-go"
	"github.com/dgraph-io/ristretto/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jellydator/ttlcache/v3"
	"github.com/maypok86/otter/v2"
)

// benchKey is the key types the cache benchmarks use: strings for the
// throughput and memory runs, uint64 for eviction and hit-ratio runs.
type benchKey interface{ ~uint64 | ~string }

// benchCache is the common surface every cache is driven through. The
// interface call costs every cache the same few nanoseconds.
type benchCache[K benchKey] interface {
	Get(key K) (string, bool)
	Set(key K, value string)
	// Wait returns once buffered writes have been applied, so that a
	// prepopulated cache really holds its entries. Synchronous caches
	// return at once.
	Wait()
	Close()
}

// cacheMaker names a cache and builds one for at most capacity entries.
type cacheMaker[K benchKey] struct {
	name string
	new  func(capacity int) benchCache[K]
}

// benchCaches returns our cache (in each policy available) followed by the
// peers, each configured the way its authors recommend for a bounded
// cache of capacity entries with no expiry.
func benchCaches[K benchKey]() []cacheMaker[K] {
	return append(edgeinfraCaches[K](),
		cacheMaker[K]{"otter", newOtter[K]},
		cacheMaker[K]{"theine", newTheine[K]},
		cacheMaker[K]{"ristretto", newRistretto[K]},
		cacheMaker[K]{"golang-lru-expirable", newExpirableLRU[K]},
		cacheMaker[K]{"ttlcache", newTTLCache[K]},
	)
}

type otterCache[K benchKey] struct{ c *otter.Cache[K, string] }

// newOtter bounds otter by entry count. Its maintenance runs on the
// calling goroutines; no deletion handler is set, so no executor runs.
func newOtter[K benchKey](capacity int) benchCache[K] {
	return otterCache[K]{otter.Must(&otter.Options[K, string]{MaximumSize: capacity})}
}

func (o otterCache[K]) Get(k K) (string, bool) { return o.c.GetIfPresent(k) }
func (o otterCache[K]) Set(k K, v string)      { o.c.Set(k, v) }
func (o otterCache[K]) Wait()                  { o.c.CleanUp() }
func (o otterCache[K]) Close()                 { o.c.StopAllGoroutines() }

type theineCache[K benchKey] struct{ c *theine.Cache[K, string] }

// newTheine gives every entry cost 1, so capacity counts entries.
func newTheine[K benchKey](capacity int) benchCache[K] {
	c, err := theine.NewBuilder[K, string](int64(capacity)).Build()
	if err != nil {
		panic(err)
	}
	return theineCache[K]{c}
}

func (t theineCache[K]) Get(k K) (string, bool) { return t.c.Get(k) }
func (t theineCache[K]) Set(k K, v string)      { t.c.Set(k, v, 1) }
func (t theineCache[K]) Wait()                  { t.c.Wait() }
func (t theineCache[K]) Close()                 { t.c.Close() }

type ristrettoCache[K benchKey] struct{ c *ristretto.Cache[K, string] }

// newRistretto follows ristretto's README: 10 counters per entry, cost 1
// per entry with the internal cost ignored, 64-item buffers.
func newRistretto[K benchKey](capacity int) benchCache[K] {
	c, err := ristretto.NewCache(&ristretto.Config[K, string]{
		NumCounters:        int64(10 * capacity),
		MaxCost:            int64(capacity),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic(err)
	}
	return ristrettoCache[K]{c}
}

func (r ristrettoCache[K]) Get(k K) (string, bool) { return r.c.Get(k) }
func (r ristrettoCache[K]) Set(k K, v string)      { r.c.Set(k, v, 1) }
func (r ristrettoCache[K]) Wait()                  { r.c.Wait() }
func (r ristrettoCache[K]) Close()                 { r.c.Close() }

type expirableLRU[K benchKey] struct{ c *expirable.LRU[K, string] }

// expirableTTL is long enough that nothing expires during a run; the
// expirable LRU is built for a TTL, so it gets one. Its cleanup goroutine
// cannot be stopped (the library offers no way to) and keeps the cache
// reachable, so Close purges the entries to let them be collected.
const expirableTTL = time.Hour

func newExpirableLRU[K benchKey](capacity int) benchCache[K] {
	return expirableLRU[K]{expirable.NewLRU[K, string](capacity, nil, expirableTTL)}
}

func (l expirableLRU[K]) Get(k K) (string, bool) { return l.c.Get(k) }
func (l expirableLRU[K]) Set(k K, v string)      { l.c.Add(k, v) }
func (l expirableLRU[K]) Wait()                  {}
func (l expirableLRU[K]) Close()                 { l.c.Purge() }

type ttlCache[K benchKey] struct{ c *ttlcache.Cache[K, string] }

// newTTLCache bounds ttlcache by entry count with no TTL; its expiry
// goroutine (Start) is not needed and not started.
func newTTLCache[K benchKey](capacity int) benchCache[K] {
	return ttlCache[K]{ttlcache.New(ttlcache.WithCapacity[K, string](uint64(capacity)))}
}

func (t ttlCache[K]) Get(k K) (string, bool) {
	if it := t.c.Get(k); it != nil {
		return it.Value(), true
	}
	return "", false
}
func (t ttlCache[K]) Set(k K, v string) { t.c.Set(k, v, ttlcache.NoTTL) }
func (t ttlCache[K]) Wait()             {}
func (t ttlCache[K]) Close()            {}
