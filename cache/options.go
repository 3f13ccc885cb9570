package cache

import (
	"fmt"
	"math"
	"time"
)

// TTL values with a special meaning for [Cache.Put] and [Options.DefaultTTL].
const (
	// DefaultTTL, passed to Put, uses the cache's default TTL.
	DefaultTTL time.Duration = 0
	// NoExpiration, passed to Put, stores an entry that never expires; as
	// Options.DefaultTTL it means entries do not expire by default.
	NoExpiration time.Duration = -1
)

// defaultMaxSize and defaultTTL are what the zero Options mean.
const (
	defaultMaxSize = 1000
	defaultTTL     = 5 * time.Minute
)

// Policy selects how a full cache picks the entry to evict.
type Policy int

const (
	// ExactLFU, the zero value, evicts the entry with the fewest accesses
	// since its last Put, ties broken by the oldest Put, after removing
	// expired entries. It is the contract of [Cache] and is exact.
	ExactLFU Policy = iota
	// WTinyLFU is an adaptive policy: a small LRU window in front of a
	// segmented LRU main space, admission by an approximate frequency
	// sketch, and a window size tuned by hill climbing. It keeps a higher
	// hit ratio than ExactLFU when popularity shifts, at the price of
	// approximate access counts driving eviction.
	WTinyLFU
)

// String returns "exact-lfu" or "w-tinylfu".
func (p Policy) String() string {
	switch p {
	case ExactLFU:
		return "exact-lfu"
	case WTinyLFU:
		return "w-tinylfu"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Options configures a [Cache]. The zero value is valid: 1000 entries,
// a five-minute default TTL, exact LFU eviction and no extra features.
type Options struct {
	// MaxSize is the maximum number of entries. Zero means 1000; a
	// negative value makes New panic.
	MaxSize int
	// DefaultTTL is the TTL of a Put with DefaultTTL and of loaded values.
	// Zero means 5 minutes; NoExpiration (or any negative value) means
	// entries do not expire by default.
	DefaultTTL time.Duration
	// Now returns the current time. Nil means time.Now (read through the
	// monotonic clock). It may be called with a lock held and must not
	// call the cache.
	Now func() time.Time

	// StaleFor keeps an expired entry this much longer so that GetOrLoad
	// can return it when a load fails. Get, Peek and All never return a
	// stale entry. Zero (or negative) means expired entries are not kept.
	StaleFor time.Duration
	// RefreshAhead makes a GetOrLoad hit on an entry that expires within
	// this window start one background reload. Zero means no refresh.
	RefreshAhead time.Duration
	// TTLJitter spreads every positive TTL uniformly by up to this
	// fraction either way (0.1 is ±10%). Zero means no jitter; values are
	// clamped to [0, 1).
	TTLJitter float64
	// NegativeTTL is how long a loader's ErrNotFound is remembered, so that
	// GetOrLoad answers ErrNotFound without calling the loader. Zero means
	// ErrNotFound is not remembered.
	NegativeTTL time.Duration
	// MaxBytes is a budget on the sum of Hooks.Weigher over all entries,
	// enforced alongside MaxSize. Zero (or no Weigher) means no budget.
	MaxBytes int64
	// Policy selects the eviction policy. The zero value is ExactLFU.
	Policy Policy
}

// Hooks are the typed callbacks of a cache, given to [NewWith].
type Hooks[K comparable, V any] struct {
	// OnEvict is called once for every entry that leaves the cache, with
	// the reason. It is never called while the cache holds a lock, so it
	// may call the cache, but it runs on the goroutine whose call removed
	// the entry and delays that call's return: it should be quick.
	OnEvict func(key K, value V, cause RemovalCause)
	// Weigher returns the size of an entry, in whatever unit MaxBytes
	// uses. It is called once per write, with no lock held, and its
	// result is kept; negative weights count as zero and weights are
	// capped at 2^31-1. Nil means every entry weighs zero.
	Weigher func(key K, value V) int
}

// RemovalCause tells [Hooks.OnEvict] why an entry left the cache.
type RemovalCause int

const (
	// Evicted: a live entry was removed to make room (MaxSize or MaxBytes).
	Evicted RemovalCause = iota
	// Expired: an expired entry was removed by Get, PurgeExpired, a Put
	// that needed room, or Load.
	Expired
	// Deleted: the entry was removed by Delete.
	Deleted
	// Replaced: a Put (or a completed load) replaced the entry's value.
	Replaced
	// Cleared: the entry was removed by Clear or replaced by Load.
	Cleared
)

// String returns the cause in lowercase: "evicted", "expired", "deleted",
// "replaced" or "cleared".
func (c RemovalCause) String() string {
	switch c {
	case Evicted:
		return "evicted"
	case Expired:
		return "expired"
	case Deleted:
		return "deleted"
	case Replaced:
		return "replaced"
	case Cleared:
		return "cleared"
	}
	return fmt.Sprintf("RemovalCause(%d)", int(c))
}

// config is Options with the defaults applied and times in nanoseconds.
type config struct {
	maxSize      int
	defaultTTL   int64 // < 0: no expiry
	staleFor     int64
	refreshAhead int64
	jitter       float64
	negativeTTL  int64
	maxBytes     int64 // 0: none
	policy       Policy
}

func newConfig(o Options, hasWeigher bool) config {
	if o.MaxSize < 0 {
		panic(fmt.Sprintf("cache: negative Options.MaxSize %d", o.MaxSize))
	}
	c := config{
		maxSize:      o.MaxSize,
		defaultTTL:   int64(o.DefaultTTL),
		staleFor:     max(int64(o.StaleFor), 0),
		refreshAhead: max(int64(o.RefreshAhead), 0),
		negativeTTL:  max(int64(o.NegativeTTL), 0),
		policy:       o.Policy,
	}
	if c.maxSize == 0 {
		c.maxSize = defaultMaxSize
	}
	if c.maxSize > math.MaxInt32 {
		// Heap positions are int32; no realistic cache comes close.
		c.maxSize = math.MaxInt32
	}
	switch {
	case o.DefaultTTL == 0:
		c.defaultTTL = int64(defaultTTL)
	case o.DefaultTTL < 0:
		c.defaultTTL = -1
	}
	if j := o.TTLJitter; j > 0 && !math.IsNaN(j) {
		c.jitter = min(j, 0.999)
	}
	if hasWeigher && o.MaxBytes > 0 {
		c.maxBytes = o.MaxBytes
	}
	if c.policy != WTinyLFU {
		c.policy = ExactLFU
	}
	return c
}
