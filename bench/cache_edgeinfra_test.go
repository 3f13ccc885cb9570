package bench_test

import (
	"github.com/edgeinfra/edgeinfra/cache"
)

// edgeinfraCaches returns our cache in each policy: "edgeinfra" is the
// default exact-LFU contract of API.md, "edgeinfra-wtinylfu" the opt-in
// adaptive policy.
func edgeinfraCaches[K benchKey]() []cacheMaker[K] {
	return []cacheMaker[K]{
		{"edgeinfra", func(n int) benchCache[K] { return newEdgeinfra[K](n, cache.ExactLFU) }},
		{"edgeinfra-wtinylfu", func(n int) benchCache[K] { return newEdgeinfra[K](n, cache.WTinyLFU) }},
	}
}

type edgeinfraCache[K benchKey] struct{ c *cache.Cache[K, string] }

// newEdgeinfra builds our cache with no default expiry; entries are
// written with NoExpiration, as the peers' are written without a TTL.
func newEdgeinfra[K benchKey](capacity int, p cache.Policy) benchCache[K] {
	return edgeinfraCache[K]{cache.New[K, string](cache.Options{
		MaxSize:    capacity,
		DefaultTTL: cache.NoExpiration,
		Policy:     p,
	})}
}

func (e edgeinfraCache[K]) Get(k K) (string, bool) { return e.c.Get(k) }
func (e edgeinfraCache[K]) Set(k K, v string)      { e.c.Put(k, v, cache.NoExpiration) }
func (e edgeinfraCache[K]) Wait()                  {}
func (e edgeinfraCache[K]) Close()                 {}

// Evictions reports the cache's eviction count, so that benchmarks can
// check that every insert into a full cache evicted.
func (e edgeinfraCache[K]) Evictions() uint64 { return e.c.Stats().Evictions }
