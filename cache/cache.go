package cache

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// shardCount is the number of tables the key space is split into, so that
// growing one rehashes a 64th of the entries.
const shardCount = 64

// shard is one part of the key space; see readers.go for its locking.
type shard[K comparable, V any] struct {
	t table[K, V]
	_ [64 - 24]byte // readers read the version of their shard only
}

// Cache is a bounded, expiring key-value cache; see the package
// documentation. A Cache must be created with [New] or [NewWith] and is
// safe for concurrent use by many goroutines.
type Cache[K comparable, V any] struct {
	cfg    config
	hooks  Hooks[K, V]
	clock  clock
	seed   maphash.Seed
	shards [shardCount]shard[K, V]

	mu          sync.Mutex // guards the fields below and every write to a shard or entry
	pol         policy[K, V]
	exp         expHeap[K, V]
	bytes       int64
	weights     map[*entry[K, V]]int32 // with MaxBytes only: the entries' weights
	evictions   uint64
	expirations uint64
	loads       map[K]*call[V] // loads and refreshes in flight
	closed      bool
	n           int          // entries stored
	size        atomic.Int64 // n as last published, for Len without mu; never above MaxSize

	staleServed atomic.Uint64
	loadCount   atomic.Uint64
	loadErrors  atomic.Uint64
	refreshes   atomic.Uint64

	reads *readBuffer[K, V] // WTinyLFU only: accesses waiting for mu
	locks locks[K, V]       // the striped reader lock (readers.go)

	// Overwrites without mu (writes.go). What every Put reads first
	// shares a cache line with nothing every write changes.
	_          [64]byte
	fastWrites bool          // ExactLFU without a byte budget, more than one stripe
	fastOff    atomic.Bool   // set by quiesce
	loading    atomic.Int64  // len(loads)
	seqLimit   atomic.Uint64 // no fast write at or past this write order
	afterDrain func()        // tests only: runs after makeRoom applied the overwrites
	_          [64]byte
	wseq       atomic.Uint64 // writes made: the ExactLFU write order
	_          [56]byte
	dirtyMask  atomic.Uint64       // groups with records waiting
	dirty      []dirtyBuffer[K, V] // per group
	draining   []dirtyRecord[K, V] // a group's records being applied; guarded by mu

	wg        sync.WaitGroup // background loads
	closeCtx  context.Context
	closeStop context.CancelFunc
}

// New returns an empty cache configured by opts. It panics if
// opts.MaxSize is negative. New(opts) is NewWith(opts, Hooks[K, V]{}).
func New[K comparable, V any](opts Options) *Cache[K, V] {
	return NewWith(opts, Hooks[K, V]{})
}

// NewWith returns an empty cache configured by opts with the typed
// callbacks in hooks. It panics if opts.MaxSize is negative.
func NewWith[K comparable, V any](opts Options, hooks Hooks[K, V]) *Cache[K, V] {
	c := &Cache[K, V]{
		cfg:   newConfig(opts, hooks.Weigher != nil),
		hooks: hooks,
		clock: newClock(opts.Now),
		seed:  maphash.MakeSeed(),
		loads: make(map[K]*call[V]),
	}
	for i := range c.shards {
		c.shards[i].t.reset()
	}
	c.locks = newLocks[K, V]()
	c.newDirty()
	if c.cfg.policy == WTinyLFU {
		c.pol = newTinyLFU[K, V](c.cfg.maxSize)
		c.reads = newReadBuffer[K, V]()
	} else {
		h := newLFUHeap(c.cfg.maxSize, c.hitsOf, &c.wseq)
		c.pol = h
		c.limitFastSeq(h)
		// With one stripe (one P) no other core could write meanwhile.
		c.fastWrites = c.cfg.maxBytes == 0 && c.stripes() > 1
	}
	if c.cfg.maxBytes > 0 {
		c.weights = make(map[*entry[K, V]]int32)
	}
	c.closeCtx, c.closeStop = context.WithCancel(context.Background())
	return c
}

// Get returns the value stored for key and counts an access to it. A
// missing or expired key returns the zero V and false and counts a miss;
// an expired entry is removed (unless Options.StaleFor keeps it for
// GetOrLoad).
func (c *Cache[K, V]) Get(key K) (V, bool) {
	h := c.hash(key)
	sh := &c.shards[h&(shardCount-1)]
	l := c.reader(c.groupOf(h))
	l.mu.Lock()
	e := sh.t.get(h, key)
	if e != nil && !e.neg() && (e.expires == 0 || c.clock.nano() < e.expires) {
		c.countHit(l, e)
		v := e.value
		l.mu.Unlock()
		if c.reads != nil {
			c.recordRead(e)
		}
		return v, true
	}
	l.misses++
	expires := e != nil && e.expires != 0
	l.mu.Unlock()
	if expires {
		c.expire(key, e)
	}
	var zero V
	return zero, false
}

// expire removes e, found expired by a Get, if it is still key's entry and
// still expired past its stale period.
func (c *Cache[K, V]) expire(key K, e *entry[K, V]) {
	var r removals[K, V]
	c.mu.Lock()
	now := c.clock.nano()
	if c.lookup(key) == e && c.removeIf(e, Expired, removeExpired, now-c.cfg.staleFor, &r) {
		c.expirations++
		c.size.Store(int64(c.n))
	}
	c.mu.Unlock()
	c.notify(&r)
}

// Put stores value under key with the given TTL: a positive duration,
// DefaultTTL for the cache's default, or NoExpiration. Any other negative
// TTL stores an entry that is already expired. A Put of a new key into a
// full cache first removes every expired entry and, if none was expired,
// evicts the entry with the fewest accesses (ties: the oldest Put). A Put
// of a stored key replaces its value and TTL, resets its access count and
// never evicts another key (except to honour Options.MaxBytes).
func (c *Cache[K, V]) Put(key K, value V, ttl time.Duration) {
	if key != key {
		return // NaN and the like: never equal to themselves, never found
	}
	w := c.weigh(key, value)
	now := c.clock.nano()
	exp := c.expiresAt(now, ttl)
	var r removals[K, V]
	h := c.hash(key)
	done, absent := c.putFast(h, key, value, now, exp, &r)
	if done {
		c.notify(&r)
		return
	}
	var ne *entry[K, V]
	if absent {
		ne = new(entry[K, V]) // allocated before the lock, not under it
	}
	c.mu.Lock()
	c.drainDirty() // a full buffer may have sent us here
	c.supersede(key)
	c.setLocked(h, key, value, now, now, exp, w, false, 0, ne, &r)
	c.mu.Unlock()
	c.notify(&r)
}

// setLocked writes key's entry, whose hash is h: a new entry (ne, if not
// nil), or the existing one in place. created and hits are the entry's
// write time and starting access count (now and 0 but for Load).
func (c *Cache[K, V]) setLocked(h uint64, key K, value V, now, created, exp int64, w int32, neg bool, hits uint64, ne *entry[K, V], r *removals[K, V]) {
	c.renumberIfDue()
	sh := &c.shards[h&(shardCount-1)]
	g := c.groupOf(h)
	e := sh.t.getW(h, key)
	if c.cfg.maxBytes > 0 && int64(w) > c.cfg.maxBytes {
		// Heavier than the whole budget: never stored.
		if e != nil {
			c.removeLocked(e, Replaced, r)
		}
		if !neg {
			c.removed(r, key, value, Evicted)
		}
		c.evictions++
		c.size.Store(int64(c.n))
		return
	}
	if e != nil {
		if neg {
			created = negMark
		}
		c.lockGroup(g)
		old, oldNeg := e.value, e.neg()
		e.value, e.created, e.expires = value, created, exp
		c.takePending(e, g, false)
		e.hits.Store(min(hits, countMask))
		c.pol.update(e)
		c.exp.set(e)
		c.unlockGroup(g)
		c.setWeight(e, w)
		if !oldNeg {
			c.removed(r, key, old, Replaced)
		}
		if c.cfg.maxBytes > 0 && c.bytes > c.cfg.maxBytes {
			// A replacement never evicts itself, even if already expired.
			c.pol.remove(e)
			c.exp.remove(e)
			c.makeRoom(now, 0, 0, r)
			c.pol.insert(e)
			c.exp.set(e)
			c.size.Store(int64(c.n))
		}
		return
	}
	admitFirst := c.reads == nil
	if admitFirst {
		c.makeRoom(now, 1, int64(w), r)
	}
	if neg {
		created = negMark
	}
	e = ne
	if e == nil {
		e = new(entry[K, V])
	}
	e.key, e.value, e.created, e.expires, e.idx, e.expIdx = key, value, created, exp, -1, -1
	e.hits.Store(min(hits, countMask))
	c.pol.insert(e)
	c.exp.set(e)
	sh.t.insert(h, e, c.hash) // published: readers and overwrites can reach e
	c.n++
	c.setWeight(e, w)
	if !admitFirst {
		// The policy picks its victim with the new entry in place, so n
		// may pass MaxSize here, but it is only published below.
		c.drainReads()
		c.makeRoom(now, 0, 0, r)
	}
	c.size.Store(int64(c.n))
}

// makeRoom removes entries until one more entry of weight w (slots is 1)
// or nothing more (slots is 0) fits: every expired entry first, then the
// policy's victims.
func (c *Cache[K, V]) makeRoom(now int64, slots int, w int64, r *removals[K, V]) {
	if !c.over(slots, w) {
		return
	}
	c.expireAll(now, r)
	c.evictions += uint64(c.removeChosen(Evicted, r, func() *entry[K, V] {
		if !c.over(slots, w) {
			return nil
		}
		if c.afterDrain != nil {
			c.afterDrain()
		}
		return c.pol.victim()
	}))
}

// expireAll removes every entry expired at now and returns how many.
func (c *Cache[K, V]) expireAll(now int64, r *removals[K, V]) int {
	n := c.removeChosen(Expired, r, func() *entry[K, V] {
		if e := c.exp.min(); e != nil && c.exp.s[0].at <= now {
			return e
		}
		return nil
	})
	c.expirations += uint64(n)
	return n
}

// removeChosen removes, one at a time, the entries the heaps choose
// (choose, with the overwrites made without c.mu applied first) until
// choose returns nil, and returns how many it removed. A removal fails
// when an overwrite of the chosen entry's group came in meanwhile, and
// the heaps choose again; after two failures in a row overwrites are
// stopped until it is done.
func (c *Cache[K, V]) removeChosen(cause RemovalCause, r *removals[K, V], choose func() *entry[K, V]) int {
	n, quiet := 0, false
	for tries := 0; ; tries++ {
		if tries == 2 && !quiet {
			c.quiesce()
			quiet = true
		} else {
			c.drainDirty()
		}
		e := choose()
		if e == nil {
			break
		}
		if c.removeIf(e, cause, removeClean, 0, r) {
			n++
			tries = -1
		}
	}
	if quiet {
		c.resume()
	}
	return n
}

func (c *Cache[K, V]) over(slots int, w int64) bool {
	return c.n+slots > c.cfg.maxSize ||
		c.cfg.maxBytes > 0 && c.bytes+w > c.cfg.maxBytes
}

// removeLocked takes e out of the cache.
func (c *Cache[K, V]) removeLocked(e *entry[K, V], cause RemovalCause, r *removals[K, V]) {
	c.removeIf(e, cause, removeAlways, 0, r)
}

// A removal's condition, checked under a lock of the entry's group.
const (
	removeAlways  = iota
	removeClean   // the group has no overwrite waiting for the heaps, which chose e
	removeExpired // e is expired at the time given
)

// removeIf takes e out of the cache if cond holds and reports whether it
// did. The caller holds c.mu and no lock of any group. One lock of e's
// group orders the removal against an overwrite of e without c.mu (which
// holds them all); readers need no excluding from the table.
func (c *Cache[K, V]) removeIf(e *entry[K, V], cause RemovalCause, cond int, at int64, r *removals[K, V]) bool {
	h := c.hash(e.key)
	g := c.groupOf(h)
	l := c.reader(g)
	l.mu.Lock()
	if cond == removeClean && !c.clean(g) || cond == removeExpired && !e.expiredAt(at) {
		l.mu.Unlock()
		return false
	}
	c.shards[h&(shardCount-1)].t.remove(h, e)
	l.mu.Unlock()
	// No writer can reach e now: its fields are c.mu's to read.
	c.pol.remove(e)
	c.exp.remove(e)
	c.n-- // published by the caller, once per call of the API
	c.setWeight(e, 0)
	if !e.neg() {
		c.removed(r, e.key, e.value, cause)
	}
	return true
}

// setWeight records e's weight (0 when e leaves the cache) in c.bytes.
func (c *Cache[K, V]) setWeight(e *entry[K, V], w int32) {
	if c.weights == nil {
		return
	}
	c.bytes += int64(w) - int64(c.weights[e])
	if w == 0 {
		delete(c.weights, e)
	} else {
		c.weights[e] = w
	}
}

// resetLocked empties the policy and accounting after the shards were
// emptied.
func (c *Cache[K, V]) resetLocked() {
	c.pol.reset()
	c.exp.reset()
	c.n = 0
	c.size.Store(0)
	c.bytes = 0
	if c.weights != nil {
		clear(c.weights)
	}
}

// Delete removes key and reports whether it was present, expired or not.
func (c *Cache[K, V]) Delete(key K) bool {
	var r removals[K, V]
	c.mu.Lock()
	c.supersede(key)
	e := c.lookup(key)
	if e != nil {
		c.removeLocked(e, Deleted, &r)
		c.size.Store(int64(c.n))
	}
	c.mu.Unlock()
	c.notify(&r)
	return e != nil
}

// Clear removes every entry and returns how many there were. Statistics
// are kept.
func (c *Cache[K, V]) Clear() int {
	var r removals[K, V]
	c.mu.Lock()
	for _, ld := range c.loads {
		ld.superseded = true
	}
	n := c.n
	c.emptyShards(&r)
	c.resetLocked()
	c.mu.Unlock()
	c.notify(&r)
	return n
}

// PurgeExpired removes every expired entry (past Options.StaleFor, if set)
// and returns how many it removed. It costs O(log n) per entry removed.
func (c *Cache[K, V]) PurgeExpired() int {
	var r removals[K, V]
	c.mu.Lock()
	n := c.expireAll(c.clock.nano()-c.cfg.staleFor, &r)
	c.size.Store(int64(c.n))
	c.mu.Unlock()
	c.notify(&r)
	return n
}

// Entry is a copy of a stored entry, as returned by [Cache.Peek].
type Entry[V any] struct {
	Value       V
	CreatedAt   time.Time // when the entry was last written by Put or a load
	ExpiresAt   time.Time // zero when the entry never expires
	AccessCount uint64    // successful Gets since the entry was (re)written
}

// Peek returns a copy of key's live entry without counting an access or
// changing the statistics. An expired entry is reported absent and left
// in place. It waits for writers, not for readers.
func (c *Cache[K, V]) Peek(key K) (Entry[V], bool) {
	now, loc := c.clock.nowLoc()
	h := c.hash(key)
	g := c.groupOf(h)
	c.lockGroup(g)
	defer c.unlockGroup(g)
	e := c.shards[h&(shardCount-1)].t.get(h, key)
	if e == nil || e.neg() || e.expiredAt(now) {
		return Entry[V]{}, false
	}
	c.takePending(e, g, true)
	out := Entry[V]{Value: e.value, CreatedAt: toTime(e.created, loc), AccessCount: e.hits.Load() & countMask}
	if e.expires != 0 {
		out.ExpiresAt = toTime(e.expires, loc)
	}
	return out, true
}

// Len returns the number of entries stored, including expired entries not
// yet removed. It is cheap: one atomic load.
func (c *Cache[K, V]) Len() int {
	return int(c.size.Load())
}

func (c *Cache[K, V]) hash(key K) uint64 {
	return maphash.Comparable(c.seed, key)
}

// lookup returns key's entry, or nil. The caller holds c.mu.
func (c *Cache[K, V]) lookup(key K) *entry[K, V] {
	h := c.hash(key)
	return c.shards[h&(shardCount-1)].t.getW(h, key)
}

// emptyShards replaces every shard's table with an empty one and reports
// the entries it held as Cleared. The caller holds c.mu and then calls
// resetLocked.
func (c *Cache[K, V]) emptyShards(r *removals[K, V]) {
	old := make([]*tableData[K, V], len(c.shards))
	c.lockAll()
	for i := range c.shards {
		old[i] = c.shards[i].t.d.Load()
		c.shards[i].t.reset()
	}
	c.clearPending()
	for i := range c.dirty {
		c.dirty[i].reset()
	}
	c.dirtyMask.Store(0)
	c.unlockAll()
	if c.hooks.OnEvict != nil {
		for _, d := range old {
			d.all(func(e *entry[K, V]) bool {
				if !e.neg() {
					c.removed(r, e.key, e.value, Cleared)
				}
				return true
			})
		}
	}
}

// weigh returns the weight of an entry, clamped to [0, MaxInt32].
func (c *Cache[K, V]) weigh(key K, value V) int32 {
	if c.hooks.Weigher == nil {
		return 0
	}
	return int32(min(max(c.hooks.Weigher(key, value), 0), math.MaxInt32))
}
