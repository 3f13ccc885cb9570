// Package trace provides synthetic, reproducible key-access traces for
// measuring cache hit ratios and for driving cache throughput benchmarks.
//
// Every generator is deterministic: the same arguments (including the seed)
// give the same keys on every machine and Go version, so hit ratios can be
// compared across runs and across caches.
//
// # Distributions
//
// [Zipf] draws ranks from a Zipf distribution with any exponent s > 0,
// including the 0 < s ≤ 1 range that math/rand's Zipf does not support.
// It uses rejection-inversion sampling (Hörmann and Derflinger), which needs
// O(1) memory and O(1) expected time per draw for any number of items.
//
// # Traces
//
// A [Trace] is a named slice of keys. The generators model the access
// patterns that separate eviction policies:
//
//   - [ZipfTrace]: a stationary skewed popularity, the
//     classic web and CDN shape; s is the skew (0.7 mild, 1.1 strong).
//   - [ScanTrace]: a Zipf hot set with bursts of one-time keys mixed in,
//     like a batch job or crawler walking a keyspace; LRU is flushed by
//     every burst, frequency-aware policies keep the hot set.
//   - [ShiftTrace]: a Zipf working set whose keys move over time, so keys
//     that were popular stop being requested; policies that never age
//     their counts hold on to the old keys.
//   - [LoopTrace]: a cyclic scan over more keys than the cache holds,
//     where LRU gets no hits at all.
//
// [Suite] returns the standard set of traces used by the hit-ratio
// benchmark, in a small size for CI and a long size for published numbers.
//
// Keys are spread over the whole uint64 range by a bijective mixer, so
// generators never produce a collision between distinct ranks, and caches
// that hash keys see realistic bit patterns.
//
// # Concurrency
//
// A [Zipf] is not safe for concurrent use (it owns its random source);
// give each goroutine its own. Traces are plain slices: read them from any
// number of goroutines, but do not modify one that others are reading.
package trace
