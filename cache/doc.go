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
// New panics if Options.MaxSize is negative; no other option panics (see
// [Options] for what each out-of-range value means).
//
// # Cost and memory
//
// Eviction costs O(log n), never a scan: access counts are exact counters
// on the entries, and a 4-ary min-heap on (count, write order) is
// repaired lazily, since between two writes of an entry Gets only raise
// its count. Entries no Get has touched since their last write wait
// beside the heap in a queue in write order (every write files its entry
// with a count of 0 and the newest write order), so evicting an entry
// that was never read, the usual victim of a cache that keeps taking new
// keys, is O(1). A second heap orders expiry times, so removing every
// expired entry costs O(log n) per entry removed. A Put that evicts costs about
// 0.2 µs at 1,000 entries, 0.4 µs at 100,000 and 0.8 µs at 1,000,000 on
// a small two-core machine (bench/BenchmarkCacheEvict), the growth being
// cache misses, not work.
//
// Readers never take the cache-wide lock, and a Get writes to no cache
// line but its own stripe's (the entry's too only while its pending-count
// slot belongs to a hotter key): keys are spread over 64 shards, each an
// open-addressing table of entry pointers that readers probe beside its
// writer, and a Get locks only its key's group of shards in the stripe of
// a striped reader lock that belongs to its P, where it also
// counts the hit and the entry's access (pending counts that eviction,
// Peek and Save first move into the entry, so counts stay exact). Inserts,
// deletions and evictions serialize on one lock and wait for no reader.
// An overwrite of a stored key (ExactLFU, no byte budget) takes neither
// that lock nor more than its group's locks: it leaves its new write order
// in a buffer that the eviction heap applies before it chooses a victim,
// so two cores can overwrite and read at once without queueing.
// Hits and updates of an existing key do not allocate; inserting a key
// allocates its entry. For string keys and values the cache adds about 95
// bytes per entry to the strings themselves (entry, queue or heap slot,
// table slot), and about 75 KB per cache whatever its size (the striped
// lock with its pending counts, the overwrite buffers and the 64 empty
// shard tables). The heap and the queue keep the arrays they grew, so
// that entries moving between them as they are read and rewritten
// allocate nothing; when both have held most of the cache, slots cost up
// to 16 bytes more per entry (ExactLFU only).
// A Get of an expiring entry reads the clock; one of an entry that never
// expires does not.
//
// # The adaptive policy
//
// Exact LFU never forgets: a key that was popular yesterday keeps its
// count and outlives today's popular keys, and a Put of a new key into a
// cache of read entries always evicts the newest unread entry. On the
// bench module's traces it matches W-TinyLFU within about two points on
// stable Zipf and scan workloads, but hits 9-39% where W-TinyLFU hits
// 36-65% on a working set that shifts, and 0% on a loop larger than the
// cache (W-TinyLFU: 7-48%). Where
// popularity shifts, set Options.Policy to [WTinyLFU]: new entries enter
// a small LRU window; an entry leaving the window is admitted to the main
// space (a segmented LRU) only if a count-min sketch,
// whose counts halve periodically, estimates it is used more often than
// the main space's next victim. The window size follows the hit rate by
// hill climbing. Its hit ratio on the traces of the bench module is
// within a point of otter's on every one (Zipf, scan, shifting and loop).
// Under WTinyLFU, Gets reach the policy through small lossy buffers
// applied when the lock is free (a goroutine keeps to one buffer, so that
// its reads arrive in order: the LRU lists rely on it), so eviction is
// approximate, the new key itself may be the one evicted (counted in
// Evictions), and AccessCount still counts every Get exactly. Expired
// entries still go first.
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
// # Loading: GetOrLoad
//
// [Cache.GetOrLoad] returns a live value or calls a loader for it, with
// stampede protection: concurrent misses of one key share one call. Each
// caller honours its own context; the load runs on its own goroutine with a
// context that keeps the starter's values, is not cancelled with any
// caller and is cancelled by [Cache.Close]. Loaded values get the default
// TTL. A Put, Delete or Clear of the key during the load wins: the load's
// value goes to its waiters but is not stored. A panicking loader becomes
// a [*PanicError] for every waiter. Errors are not stored, except
// [ErrNotFound] while Options.NegativeTTL lasts: such a remembered miss
// takes a slot like an entry (it counts in Len, can be evicted, and Delete
// removes it and reports true) but Get, Peek, All and Save never show it
// and OnEvict never reports it.
//
//	v, err := c.GetOrLoad(ctx, key, func(ctx context.Context, key string) ([]byte, error) {
//		return origin.Fetch(ctx, key)
//	})
//
// Options.StaleFor keeps expired entries for a grace period: Get, Peek and
// All already treat them as gone, but when a load fails GetOrLoad answers
// with the stale value and a nil error (HTTP's stale-if-error), counted in
// Stats.StaleServed. Such an entry is removed by a Get or PurgeExpired only
// after the grace period, though a Put needing room removes it as soon as
// it is expired. Options.RefreshAhead makes a GetOrLoad hit on an entry
// that expires within the window return at once and start one background
// reload (stale-while-revalidate); a failed refresh leaves the entry as it
// was. [Cache.Close] cancels and waits for loads and refreshes in flight;
// afterwards the cache keeps working, with loads run on the caller's
// goroutine and no refreshes.
//
// Options.TTLJitter spreads every positive TTL (given to Put, the default,
// NegativeTTL) uniformly by up to that fraction either way, so that
// entries written together do not expire together.
//
// # Hooks, byte budget and iteration
//
// [NewWith] takes [Hooks]. OnEvict is called once for every entry that
// leaves the cache, with a [RemovalCause], after the cache's locks are
// released, on the goroutine whose call removed it. Weigher sizes entries
// for Options.MaxBytes, a budget enforced alongside MaxSize in the same
// order (expired first, then the policy's victims). A Put of a stored key
// never evicts to honour MaxSize but does evict other entries when its new
// value overflows MaxBytes; a value heavier than MaxBytes on its own is
// never stored (the key's old entry is removed as Replaced and the new
// value reported as Evicted).
//
// [Cache.All] iterates over live entries, weakly consistently, one shard
// at a time, with no lock held while the loop body runs.
//
// # Warm restart: Save and Load
//
// [Cache.Save] writes the live entries, oldest write first, with their
// CreatedAt, ExpiresAt and AccessCount: a magic string, a version, an
// encoding/gob stream and a CRC-32C. Keys and values must therefore be
// gob-encodable. [Cache.Load] replaces the cache's contents with a
// snapshot (it does not merge: a warm restart wants exactly the saved
// state, and merging could let old values override newer ones). It skips
// entries expired by now, keeps the saved write order for tie-breaking,
// and applies the usual eviction if the snapshot is larger than the
// cache. Load reads and checks everything first: a foreign, corrupt,
// truncated or differently typed snapshot returns an error wrapping
// [ErrInvalidSnapshot] and leaves the cache unchanged.
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
// consistent, and Stats and Summary, whose counters are read one after
// the other. Hooks are never called while the cache holds a lock.
// GetOrLoad runs each load on a goroutine of its own, and RefreshAhead
// each refresh; [Cache.Close] waits for them.
//
// # Choices where the contract is silent
//
//   - Statistics survive Clear and Load; a Get of an expired entry counts a
//     miss and, when it removes the entry, an expiration. Delete of an
//     expired entry counts no expiration.
//   - OnEvict reports an overwrite as Replaced (even if the old entry had
//     expired), and Delete as Deleted (even of an expired entry).
//   - MaxSize is capped at 2^31-1.
//   - GetOrLoad counts a hit when it finds a live value and a miss
//     otherwise, a remembered ErrNotFound included; each loader call counts
//     in Stats.Loads and each failure in Stats.LoadErrors.
//   - A key that is not equal to itself makes GetOrLoad call the loader
//     directly and store nothing.
package cache
