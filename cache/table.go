package cache

import (
	"runtime"
	"sync/atomic"
)

// table is the hash table of one shard: open addressing with linear
// probing and Robin Hood placement, holding only pointers to entries.
// Next to each slot it keeps two bytes, the slot's distance from its
// home slot and a fragment of the key's hash, so that a lookup rarely
// touches an entry that is not the one it wants, a miss stops as soon as
// it reaches a slot closer to home than its own probe, and a deletion
// shifts the following slots back without rehashing. At most 7/8 full,
// it costs about 10 bytes per slot, 13 per entry on average, where a Go
// map from key to pointer costs 30 to 40.
//
// Writers (holding Cache.mu, so one at a time) change it while readers
// look up: every slot and metadata word is read and written atomically,
// so a reader sees each slot whole, and a growth publishes a new array.
// A reader that finds its key has found an entry that was stored when it
// looked. An insert writes its slots in an order that never hides an
// entry from a reader (see place); a removal that shifts entries back
// can, so a miss is confirmed by the table's version, odd while a
// removal moves entries.
type table[K comparable, V any] struct {
	d   atomic.Pointer[tableData[K, V]]
	ver atomic.Uint64 // odd while a removal moves entries
	n   int           // entries; writers only
}

type tableData[K comparable, V any] struct {
	slots []atomic.Pointer[entry[K, V]]
	meta  []atomic.Uint32 // per slot 0 (empty) or fragment<<8 | distance+1, two slots a word
	mask  uint64
}

const (
	tableMin  = 8
	hashShift = 6 // the low bits of a hash pick the shard
)

func newTableData[K comparable, V any](n int) *tableData[K, V] {
	return &tableData[K, V]{
		slots: make([]atomic.Pointer[entry[K, V]], n),
		meta:  make([]atomic.Uint32, n/2),
		mask:  uint64(n - 1),
	}
}

// reset empties t. The caller is its only writer.
func (t *table[K, V]) reset() {
	t.ver.Add(1)
	t.d.Store(newTableData[K, V](tableMin))
	t.n = 0
	t.ver.Add(1)
}

func fragment(h uint64) uint16 { return uint16(h>>56) << 8 }

func (d *tableData[K, V]) metaAt(i uint64) uint16 {
	return uint16(d.meta[i>>1].Load() >> ((i & 1) << 4))
}

// withMeta returns metadata word w with slot i's half set to m.
func withMeta(w uint32, i uint64, m uint16) uint32 {
	sh := (i & 1) << 4
	return w&^(0xffff<<sh) | uint32(m)<<sh
}

// setMeta sets slot i's metadata. The caller is the only writer.
func (d *tableData[K, V]) setMeta(i uint64, m uint16) {
	w := &d.meta[i>>1]
	w.Store(withMeta(w.Load(), i, m))
}

// putMeta sets slot i's metadata in w, the pending value of metadata
// word wi, first storing w and loading i's word if i is in another one;
// it returns the pending word.
func (d *tableData[K, V]) putMeta(w uint32, wi, i uint64, m uint16) (uint32, uint64) {
	if i>>1 != wi {
		d.meta[wi].Store(w)
		wi = i >> 1
		w = d.meta[wi].Load()
	}
	return withMeta(w, i, m), wi
}

// get returns the entry for key, whose hash is h, or nil, for a reader
// that may run beside a writer.
func (t *table[K, V]) get(h uint64, key K) *entry[K, V] {
	if e := t.d.Load().get(h, key); e != nil {
		return e
	}
	for spins := 0; ; spins++ {
		if v := t.ver.Load(); v&1 == 0 {
			e := t.d.Load().get(h, key)
			if e != nil || t.ver.Load() == v {
				return e
			}
		}
		if spins >= 4 {
			runtime.Gosched() // the writer may have been descheduled mid-move
		}
	}
}

// getW is get for the writer, or for a reader to whom a missed key
// costs nothing but time.
func (t *table[K, V]) getW(h uint64, key K) *entry[K, V] {
	return t.d.Load().get(h, key)
}

func (d *tableData[K, V]) get(h uint64, key K) *entry[K, V] {
	i, f := (h>>hashShift)&d.mask, fragment(h)
	for dist := uint16(1); ; dist++ {
		m := d.metaAt(i)
		if m&0xff < dist {
			return nil // empty, or a slot nearer its home than key would be
		}
		if m&0xff00 == f {
			if e := d.slots[i].Load(); e != nil && e.key == key {
				return e
			}
		}
		i = (i + 1) & d.mask
	}
}

// insert adds e, whose key has hash h and is not in the table. rehash
// returns the hash of a key, for growing. It needs no version: place
// moves entries so that a reader always finds them.
func (t *table[K, V]) insert(h uint64, e *entry[K, V], rehash func(K) uint64) {
	d := t.d.Load()
	if (t.n+1)*8 > len(d.slots)*7 {
		d = t.grow(d, rehash)
	}
	for !d.place(h, e) {
		d = t.grow(d, rehash) // a probe sequence too long to record: never at 7/8 load in practice
	}
	t.n++
}

// place puts e into its Robin Hood position; false if a distance would
// not fit in a byte (the table is left unchanged in that case). From the
// first slot whose entry is nearer its home than e would be, up to the
// first empty slot, every entry moves one slot on and e takes the first:
// that keeps every key reachable, as the classic swapping insert does.
// The slots are written from the last to the first, so an entry is in
// its new slot before its old one is overwritten, and every slot written
// takes an entry farther from its home than the one it held: a reader
// probing meanwhile still finds every entry and stops no earlier than it
// should.
func (d *tableData[K, V]) place(h uint64, e *entry[K, V]) bool {
	// Find the empty slot the shifting ends at, and check that no entry
	// moved on the way ends up farther than a byte can record, so that a
	// failure leaves the table unchanged.
	home := (h >> hashShift) & d.mask
	steps := uint64(0)
	for d.metaAt((home+steps)&d.mask) != 0 {
		if steps++; steps >= 254 {
			return false
		}
	}
	for p := uint64(0); p < steps; p++ {
		if uint64(d.metaAt((home+p)&d.mask)&0xff)+steps-p >= 255 {
			return false
		}
	}
	q, m := home, fragment(h)|1
	for {
		if old := d.metaAt(q); old == 0 || old&0xff < m&0xff {
			break
		}
		q = (q + 1) & d.mask
		m++
	}
	for j := (home + steps) & d.mask; j != q; {
		p := (j - 1) & d.mask
		d.slots[j].Store(d.slots[p].Load())
		d.setMeta(j, d.metaAt(p)+1)
		j = p
	}
	d.slots[q].Store(e)
	d.setMeta(q, m)
	return true
}

// remove takes out e, whose key has hash h.
func (t *table[K, V]) remove(h uint64, e *entry[K, V]) {
	d := t.d.Load()
	i := (h >> hashShift) & d.mask
	for d.slots[i].Load() != e {
		if d.metaAt(i) == 0 {
			return
		}
		i = (i + 1) & d.mask
	}
	t.n--
	if d.metaAt((i+1)&d.mask)&0xff <= 1 {
		// Nothing to shift: no entry moves, no version needed.
		d.slots[i].Store(nil)
		d.setMeta(i, 0)
		return
	}
	t.ver.Add(1)
	// Shift the following slots back, each one step nearer its home. The
	// version covers the order of the stores, so a metadata word is
	// written once for both its slots where it can.
	w, wi := d.meta[i>>1].Load(), i>>1
	for {
		j := (i + 1) & d.mask
		m := d.metaAt(j)
		if m&0xff <= 1 {
			break // empty or at home
		}
		d.slots[i].Store(d.slots[j].Load())
		w, wi = d.putMeta(w, wi, i, m-1)
		i = j
	}
	d.slots[i].Store(nil)
	w, wi = d.putMeta(w, wi, i, 0)
	d.meta[wi].Store(w)
	t.ver.Add(1)
}

// grow publishes a table twice the size (or more) holding d's entries.
func (t *table[K, V]) grow(d *tableData[K, V], rehash func(K) uint64) *tableData[K, V] {
	for n := 2 * len(d.slots); ; n *= 2 {
		nd := newTableData[K, V](n)
		if d.all(func(e *entry[K, V]) bool { return nd.place(rehash(e.key), e) }) {
			t.d.Store(nd)
			return nd
		}
	}
}

// all calls f for every entry until f returns false.
func (t *table[K, V]) all(f func(*entry[K, V]) bool) { t.d.Load().all(f) }

// all calls f for every entry until f returns false, and reports whether
// f never did.
func (d *tableData[K, V]) all(f func(*entry[K, V]) bool) bool {
	for i := range d.slots {
		if e := d.slots[i].Load(); e != nil && !f(e) {
			return false
		}
	}
	return true
}
