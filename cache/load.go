package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// ErrNotFound is what a loader returns to say that the key does not exist.
// With Options.NegativeTTL set, GetOrLoad remembers it for that long.
var ErrNotFound = errors.New("cache: not found")

// errGoexit is the result of a loader that called runtime.Goexit.
var errGoexit = errors.New("cache: loader called runtime.Goexit")

// PanicError is the error GetOrLoad returns to every waiter when the loader
// panicked.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the loader's stack when it panicked
}

// Error returns "cache: loader panicked: " followed by the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("cache: loader panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// call is one load in flight, shared by every GetOrLoad waiting for key.
type call[V any] struct {
	done       chan struct{} // closed when val and err are set
	val        V
	err        error
	stale      bool // val is an expired entry served because the load failed
	superseded bool // a Put, Delete or Clear of the key ran during the load; guarded by Cache.mu
}

// GetOrLoad returns key's live value, or else loads it: concurrent callers
// for one key share one call of load, whose value is stored with the
// default TTL. Each caller honours its own ctx: a caller whose ctx is done
// returns ctx.Err() at once, while the load goes on for the others and is
// still stored (a hit answers even when ctx is already done, as it does
// not wait). The loader's ctx carries the values of the ctx of the
// caller that started it, is not cancelled with it, and is cancelled by
// Close.
//
// A Put, Delete or Clear of the key while its load is in flight wins: the
// load's value is returned to its waiters but not stored. A loader that
// panics makes every waiter return a *PanicError. Errors are not stored,
// except ErrNotFound when Options.NegativeTTL is set. When the load fails
// and Options.StaleFor keeps an expired entry for the key, the waiters get
// that entry's value and a nil error instead (counted in Stats.StaleServed).
// A hit on an entry that expires within Options.RefreshAhead returns at
// once and starts one background reload.
func (c *Cache[K, V]) GetOrLoad(ctx context.Context, key K, load func(context.Context, K) (V, error)) (V, error) {
	var zero V
	if key != key {
		return load(ctx, key) // such a key is never stored
	}
	h := c.hash(key)
	sh := &c.shards[h&(shardCount-1)]
	l := c.reader(c.groupOf(h))
	l.mu.Lock()
	if e := sh.t.get(h, key); e != nil {
		now := c.clock.nano()
		if !e.expiredAt(now) {
			if e.neg() {
				l.misses++
				l.mu.Unlock()
				return zero, ErrNotFound
			}
			c.countHit(l, e)
			v, exp := e.value, e.expires
			l.mu.Unlock()
			if c.reads != nil {
				c.recordRead(e)
			}
			if c.cfg.refreshAhead > 0 && exp != 0 && exp-now <= c.cfg.refreshAhead {
				c.refresh(ctx, key, load)
			}
			return v, nil
		}
	}
	l.misses++
	l.mu.Unlock()
	return c.loadSlow(ctx, key, load)
}

func (c *Cache[K, V]) loadSlow(ctx context.Context, key K, load func(context.Context, K) (V, error)) (V, error) {
	var zero V
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	h := c.hash(key)
	c.mu.Lock()
	// A lock of the key's group, held from the lookup to the load's
	// registration, orders both against an overwrite without c.mu.
	l := c.reader(c.groupOf(h))
	l.mu.Lock()
	if e := c.shards[h&(shardCount-1)].t.get(h, key); e != nil && !e.expiredAt(c.clock.nano()) {
		// Stored since the lookup above.
		v, neg := e.value, e.neg()
		if !neg {
			e.hits.Add(1)
		}
		l.mu.Unlock()
		c.mu.Unlock()
		if neg {
			return zero, ErrNotFound
		}
		return v, nil
	}
	ld := c.loads[key]
	inline := false
	if ld == nil {
		ld = &call[V]{done: make(chan struct{})}
		c.addLoad(key, ld)
		if c.closed {
			inline = true
		} else {
			c.wg.Add(1)
			go c.run(ctx, key, ld, load, true)
		}
	}
	l.mu.Unlock()
	c.mu.Unlock()
	if inline {
		c.run(ctx, key, ld, load, false)
	}
	select {
	case <-ld.done:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	if ld.stale {
		c.staleServed.Add(1)
	}
	return ld.val, ld.err
}

// refresh starts a background reload of key unless one is in flight or
// the cache is closed.
func (c *Cache[K, V]) refresh(ctx context.Context, key K, load func(context.Context, K) (V, error)) {
	c.mu.Lock()
	if c.closed || c.loads[key] != nil {
		c.mu.Unlock()
		return
	}
	ld := &call[V]{done: make(chan struct{})}
	c.addLoad(key, ld)
	c.wg.Add(1)
	c.mu.Unlock()
	c.refreshes.Add(1)
	go c.run(ctx, key, ld, load, true)
}

// run calls load for ld and completes it, whatever the loader does.
func (c *Cache[K, V]) run(parent context.Context, key K, ld *call[V], load func(context.Context, K) (V, error), background bool) {
	if background {
		defer c.wg.Done()
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	defer cancel()
	stop := context.AfterFunc(c.closeCtx, cancel)
	defer stop()
	c.loadCount.Add(1)
	var (
		v        V
		err      error
		returned bool
	)
	defer func() {
		if !returned {
			if p := recover(); p != nil {
				err = &PanicError{Value: p, Stack: debug.Stack()}
			} else {
				err = errGoexit
			}
		}
		c.complete(key, ld, v, err)
	}()
	v, err = load(ctx, key)
	returned = true
}

// complete stores the result of ld (unless a write superseded it) and
// wakes its waiters.
func (c *Cache[K, V]) complete(key K, ld *call[V], v V, err error) {
	if err != nil {
		c.loadErrors.Add(1)
	}
	var w int32
	if err == nil {
		w = c.weigh(key, v)
	}
	var r removals[K, V]
	c.mu.Lock()
	if c.loads[key] == ld {
		delete(c.loads, key)
		c.loading.Add(-1)
	}
	now := c.clock.nano()
	switch {
	case ld.superseded:
	case err == nil:
		c.setLocked(c.hash(key), key, v, now, now, c.expiresAt(now, DefaultTTL), w, false, 0, nil, &r)
	case errors.Is(err, ErrNotFound) && c.cfg.negativeTTL > 0:
		var zero V
		c.setLocked(c.hash(key), key, zero, now, now, c.deadline(now, c.cfg.negativeTTL), 0, true, 0, nil, &r)
	default:
		h := c.hash(key)
		l := c.reader(c.groupOf(h))
		l.mu.Lock()
		e := c.shards[h&(shardCount-1)].t.get(h, key)
		if e != nil && !e.neg() && e.expiredAt(now) && !e.expiredAt(now-c.cfg.staleFor) {
			v, err, ld.stale = e.value, nil, true
		}
		l.mu.Unlock()
	}
	ld.val, ld.err = v, err
	c.mu.Unlock()
	close(ld.done)
	c.notify(&r)
}

// addLoad registers ld as key's load in flight. The caller holds c.mu.
func (c *Cache[K, V]) addLoad(key K, ld *call[V]) {
	c.loads[key] = ld
	c.loading.Add(1) // overwrites take the slow path, which supersedes
}

// supersede marks key's load in flight, if any, as overridden by a write.
// The caller holds c.mu.
func (c *Cache[K, V]) supersede(key K) {
	if len(c.loads) > 0 {
		if ld := c.loads[key]; ld != nil {
			ld.superseded = true
		}
	}
}

// Close stops background work: it cancels the context of every load in
// flight and waits for them to return. The cache stays usable: after
// Close, RefreshAhead starts no reloads and a GetOrLoad miss runs its load
// on the calling goroutine. Close always returns nil; calling it again is
// harmless.
func (c *Cache[K, V]) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.closeStop()
	c.wg.Wait()
	return nil
}
