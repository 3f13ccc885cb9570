package cache

import "math/bits"

// Overwrites of stored keys (the 25% writes of a read-mostly cache) do
// not take Cache.mu. Everything else a write does changes a table, the
// entry count or the byte budget and runs under Cache.mu; an overwrite
// changes only its entry, which the locks of the entry's group guard (see
// readers.go), and its place in the eviction and expiry heaps, which live
// under Cache.mu. So an overwrite updates the entry under its group's
// locks, takes its write order from an atomic counter, and leaves a
// record (entry, write order) in its group's buffer; the heaps apply the
// records before they are asked for a victim, an expired entry or a write
// order (drainDirty). Until then the heaps may hold an overwritten entry
// at its old place, which only matters to the removal of an entry of that
// group, so a removal by the heaps' choice checks, under a lock of the
// group, that the group has no record waiting, and chooses again if it
// has. Writes that must wait for the lock anyway take the slow path:
// under WTinyLFU or a byte budget, with one P, with a load in flight, or
// with a full buffer. Two cores writing then no longer queue for one lock; the
// records cost one atomic add and 16 bytes per overwrite until drained.

// dirtyRecords is the number of records all groups' buffers hold.
const dirtyRecords = 1024

type dirtyRecord[K comparable, V any] struct {
	e *entry[K, V]
	w uint64 // write order
}

// dirtyBuffer holds a group's overwrites not yet applied to the heaps. It
// is appended to holding every lock of the group and drained holding one
// and Cache.mu.
type dirtyBuffer[K comparable, V any] struct {
	recs []dirtyRecord[K, V]
	_    [64 - 24]byte
}

// reset drops d's records. The caller keeps the group's writers out.
func (d *dirtyBuffer[K, V]) reset() {
	clear(d.recs)
	d.recs = d.recs[:0]
}

func (c *Cache[K, V]) newDirty() {
	n := max(dirtyRecords/int(c.locks.groups), 8)
	c.dirty = make([]dirtyBuffer[K, V], c.locks.groups)
	c.draining = make([]dirtyRecord[K, V], 0, n)
	for i := range c.dirty {
		c.dirty[i].recs = make([]dirtyRecord[K, V], 0, n)
	}
}

// putFast overwrites key's live value without Cache.mu and reports
// whether it did; when it did not, the caller takes the slow path, and
// absent says that key was not stored a moment ago.
func (c *Cache[K, V]) putFast(h uint64, key K, value V, now, exp int64, r *removals[K, V]) (done, absent bool) {
	if !c.fastWrites || c.fastOff.Load() || c.loading.Load() != 0 {
		return false, false
	}
	g := c.groupOf(h)
	t := &c.shards[h&(shardCount-1)].t
	// Writes of a new key end here, after one probe with no lock: a key
	// missed while a removal shifted it only takes the slow path.
	if t.getW(h, key) == nil {
		return false, true
	}
	if c.wseq.Load() >= c.seqLimit.Load() {
		return false, false
	}
	d := &c.dirty[g]
	c.lockGroup(g)
	e := t.get(h, key)
	// Checked again under the locks: a load registers, and Save and
	// renumbering stop fast writes, holding a lock of the group.
	if e == nil || e.neg() || len(d.recs) == cap(d.recs) || c.fastOff.Load() || c.loading.Load() != 0 {
		c.unlockGroup(g)
		return false, false
	}
	old := e.value
	e.value, e.created, e.expires = value, now, exp
	c.takePending(e, g, false)
	e.hits.Store(0)
	d.recs = append(d.recs, dirtyRecord[K, V]{e, c.wseq.Add(1)})
	if len(d.recs) == 1 {
		c.dirtyMask.Or(1 << g)
	}
	filling := len(d.recs) >= cap(d.recs)/2
	c.unlockGroup(g)
	c.removed(r, key, old, Replaced)
	if filling && c.mu.TryLock() {
		// Apply them before the buffer fills, if nobody else writes.
		c.drainDirty()
		c.mu.Unlock()
	}
	return true, false
}

// drainDirty applies every waiting record to the heaps. The caller holds
// c.mu and no lock of any group.
func (c *Cache[K, V]) drainDirty() {
	for m := c.dirtyMask.Load(); m != 0; m &= m - 1 {
		g := uint64(bits.TrailingZeros64(m))
		l := &c.locks.l[g]
		l.mu.Lock()
		c.drainGroup(g, l)
	}
}

// drainGroup applies group g's records and unlocks l. The caller holds
// c.mu and l, a lock of g, which keeps g's writers out; the expiry heap
// takes the records under it, as it reads the entries' expiry, and the
// eviction heap after it is released, as its write orders say which
// record is the latest.
func (c *Cache[K, V]) drainGroup(g uint64, l *readerLock[K, V]) {
	d := &c.dirty[g]
	if len(d.recs) == 0 {
		l.mu.Unlock()
		return
	}
	c.dirtyMask.And(^(uint64(1) << g))
	recs := append(c.draining[:0], d.recs...)
	d.reset()
	for _, rec := range recs {
		if rec.e.idx != -1 { // still stored
			c.exp.set(rec.e)
		}
	}
	l.mu.Unlock()
	h := c.pol.(*lfuHeap[K, V])
	for _, rec := range recs {
		if rec.e.idx != -1 {
			h.file(rec.e, rec.w)
		}
	}
	clear(recs)
	c.draining = recs[:0]
}

// clean reports whether group g has no record waiting. The caller holds a
// lock of g.
func (c *Cache[K, V]) clean(g uint64) bool { return len(c.dirty[g].recs) == 0 }

// quiesce stops fast writes and applies the records of those made, so
// that, until resume, c.mu alone guards every entry again. The caller
// holds c.mu and no lock of any group.
func (c *Cache[K, V]) quiesce() {
	c.fastOff.Store(true)
	for g := range c.locks.groups {
		l := &c.locks.l[g]
		l.mu.Lock() // waits for a fast write in progress in g
		c.drainGroup(g, l)
	}
}

func (c *Cache[K, V]) resume() { c.fastOff.Store(false) }

// renumberIfDue renumbers the eviction heap's write orders before they
// outgrow it, with fast writes stopped. The caller holds c.mu and no lock
// of any group.
func (c *Cache[K, V]) renumberIfDue() {
	h, ok := c.pol.(*lfuHeap[K, V])
	if !ok || c.wseq.Load()-h.base < h.seqMax/2 {
		return
	}
	c.quiesce()
	h.renumber()
	c.limitFastSeq(h)
	c.resume()
}

// limitFastSeq stops fast writes by themselves halfway to the next
// renumbering, so that those in flight stay within the heap's range. The
// caller holds c.mu.
func (c *Cache[K, V]) limitFastSeq(h *lfuHeap[K, V]) {
	c.seqLimit.Store(h.base + h.seqMax/2)
}
