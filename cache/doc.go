// Package cache provides a bounded, expiring, in-memory key-value cache for
// edge nodes, with exact least-frequently-used eviction by default, an
// adaptive W-TinyLFU policy as an option, stampede-protected loading,
// stale-if-error, refresh-ahead and warm restarts.
//
// # Basics
//
// [New] returns a [Cache] for any comparable key type and any value type.
// The zero [Options] is valid: at most 1000 entries, each expiring five
// minutes after its last Put.
//
//	c := cache.New[string, []byte](cache.Options{MaxSize: 10_000})
//	c.Put("tile/7/42", data, cache.DefaultTTL)   // the default TTL
//	c.Put("config", cfg, cache.NoExpiration)      // never expires
//	c.Put("token", tok, 30*time.Second)           // expires in 30s
//	if v, ok := c.Get("tile/7/42"); ok { ... }
//
// [Cache.Get] counts an access; [Cache.Peek] returns the [Entry] with its
// times and access count without counting one; [Cache.Delete],
// [Cache.Clear] and [Cache.PurgeExpired] remove entries; [Cache.Stats] and
// [Cache.Summary] report counters (Summary has snake_case JSON tags for
// status endpoints).
//
// # Eviction
//
// When a Put of a new key finds the cache at MaxSize, every expired entry
// is removed; if none was expired, the entry with the fewest accesses since
// its last Put is evicted, ties going to the oldest Put. The cache never
// holds more than MaxSize entries. A Put of a stored key replaces its value
// and TTL, resets its access count to zero and never evicts another key.
//
// Eviction costs O(log n): access counts are exact atomic counters on the
// entries, and a 4-ary min-heap on (count, write order) is repaired lazily,
// since Gets only raise counts; a second heap orders expiry times. Readers
// never take the cache-wide lock: the key space is split into shards whose
// read locks are shared by Gets, so Gets of different keys proceed in
// parallel. Hits and updates of an existing key do not allocate.
//
// # Expiry
//
// Expiry is lazy: no goroutine runs in the background. An entry is expired
// from its ExpiresAt on (a TTL of one second means that one second after
// the Put it is gone). An expired entry stays stored, counts in
// [Cache.Len] and is reported present by [Cache.Delete] until a Get,
// PurgeExpired or a Put that needs room removes it; Get and Peek never
// return it. A TTL other than a positive duration, DefaultTTL or
// NoExpiration (that is, any other negative duration) stores an entry that
// is already expired, so a TTL computed as deadline.Sub(now) behaves. Any
// negative Options.DefaultTTL means no default expiry.
//
// Time comes from Options.Now, or from the monotonic clock when it is nil.
// Times are kept as Unix nanoseconds, so they must lie between the years
// 1678 and 2262; Peek reports them in the location of Options.Now's times
// (time.Local without one).
//
// # Keys and values
//
// Any comparable key works, the zero key included. A key that is not equal
// to itself (a float NaN) can never be found again, so Put ignores it. As
// with Go maps, an interface key holding an uncomparable value panics.
// Values are stored as given: the cache copies the V, not what it points
// to, so a caller must not mutate a stored slice or map it no longer owns.
//
// # Concurrency
//
// Every method of [Cache] is safe for concurrent use. Each call is atomic
// with respect to the others, except [Cache.All], which is weakly
// consistent. Hooks are never called while the cache holds a lock.
//
// # Choices where the contract is silent
//
//   - Statistics survive Clear and Load; a Get of an expired entry counts a
//     miss and, when it removes the entry, an expiration. Delete of an
//     expired entry counts no expiration.
//   - OnEvict reports an overwrite as Replaced (even if the old entry had
//     expired), and Delete as Deleted (even of an expired entry).
//   - MaxSize is capped at 2^31-1.
package cache
