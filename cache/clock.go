package cache

import (
	"math"
	"math/rand/v2"
	"time"
)

// Time inside the cache is Unix nanoseconds (int64): cheap to store, to
// compare and to read atomically with the entry it belongs to.

// expiresAt turns a Put TTL into an expiry time (0 for never).
func (c *Cache[K, V]) expiresAt(now int64, ttl time.Duration) int64 {
	d := int64(ttl)
	switch {
	case ttl == DefaultTTL:
		if d = c.cfg.defaultTTL; d < 0 {
			return 0
		}
	case ttl == NoExpiration:
		return 0
	case ttl < 0:
		return nonZero(now + d) // already expired
	}
	return c.deadline(now, d)
}

// deadline is now+d with TTLJitter applied, saturating.
func (c *Cache[K, V]) deadline(now, d int64) int64 {
	if c.cfg.jitter > 0 {
		f := 1 + c.cfg.jitter*(2*rand.Float64()-1)
		d = max(int64(float64(d)*f), 1)
	}
	if now > math.MaxInt64-d {
		return math.MaxInt64
	}
	return nonZero(now + d)
}

func nonZero(t int64) int64 {
	if t == 0 {
		return -1
	}
	return t
}

// clock reads the time as Unix nanoseconds.
type clock struct {
	now      func() time.Time // nil: the monotonic clock below
	base     time.Time
	baseNano int64
}

func newClock(now func() time.Time) clock {
	if now != nil {
		return clock{now: now}
	}
	t := time.Now()
	return clock{base: t, baseNano: t.UnixNano()}
}

func (k *clock) nano() int64 {
	if k.now != nil {
		return k.now().UnixNano()
	}
	return k.baseNano + int64(time.Since(k.base))
}

// nowLoc returns the time and the location to report times in.
func (k *clock) nowLoc() (int64, *time.Location) {
	if k.now != nil {
		t := k.now()
		return t.UnixNano(), t.Location()
	}
	return k.nano(), time.Local
}

func toTime(n int64, loc *time.Location) time.Time {
	return time.Unix(0, n).In(loc)
}
