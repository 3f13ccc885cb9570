package cache

// table is the hash table of one shard: open addressing with linear
// probing and Robin Hood placement, holding only pointers to entries.
// Next to each slot it keeps two bytes, the slot's distance from its
// home slot and a fragment of the key's hash, so that a lookup rarely
// touches an entry that is not the one it wants, a miss stops as soon as
// it reaches a slot closer to home than its own probe, and a deletion
// shifts the following slots back without rehashing. At most 7/8 full,
// it costs about 10 bytes per slot, 13 per entry on average, where a Go
// map from key to pointer costs 30 to 40. Readers hold the shard's read
// lock; writers hold its write lock.
type table[K comparable, V any] struct {
	slots []*entry[K, V]
	meta  []uint16 // 0: empty; else fragment<<8 | distance+1
	mask  uint64
	n     int
}

const (
	tableMin  = 8
	hashShift = 6 // the low bits of a hash pick the shard
)

func newTable[K comparable, V any]() table[K, V] {
	return table[K, V]{
		slots: make([]*entry[K, V], tableMin),
		meta:  make([]uint16, tableMin),
		mask:  tableMin - 1,
	}
}

func fragment(h uint64) uint16 { return uint16(h>>56) << 8 }

// get returns the entry for key, whose hash is h, or nil.
func (t *table[K, V]) get(h uint64, key K) *entry[K, V] {
	i, f := (h>>hashShift)&t.mask, fragment(h)
	for d := uint16(1); ; d++ {
		m := t.meta[i]
		if m&0xff < d {
			return nil // empty, or a slot nearer its home than key would be
		}
		if m&0xff00 == f {
			if e := t.slots[i]; e.key == key {
				return e
			}
		}
		i = (i + 1) & t.mask
	}
}

// insert adds e, whose key has hash h and is not in the table. rehash
// returns the hash of a key, for growing.
func (t *table[K, V]) insert(h uint64, e *entry[K, V], rehash func(K) uint64) {
	if (t.n+1)*8 > len(t.slots)*7 {
		t.grow(rehash)
	}
	for !t.place(h, e) {
		t.grow(rehash) // a probe sequence too long to record: never at 7/8 load in practice
	}
	t.n++
}

// place puts e into its Robin Hood position; false if a distance would
// not fit in a byte (the table is left unchanged in that case).
func (t *table[K, V]) place(h uint64, e *entry[K, V]) bool {
	// Find the empty slot the shifting ends at, and check that no entry
	// moved on the way ends up farther than a byte can record, so that a
	// failure leaves the table unchanged.
	home := (h >> hashShift) & t.mask
	steps := uint64(0)
	for t.meta[(home+steps)&t.mask] != 0 {
		if steps++; steps >= 254 {
			return false
		}
	}
	for p := uint64(0); p < steps; p++ {
		if uint64(t.meta[(home+p)&t.mask]&0xff)+steps-p >= 255 {
			return false
		}
	}
	i := home
	cur, m := e, fragment(h)|1
	for {
		old := t.meta[i]
		if old == 0 {
			t.slots[i], t.meta[i] = cur, m
			return true
		}
		if old&0xff < m&0xff {
			// Take the slot from an entry nearer its home.
			t.slots[i], cur = cur, t.slots[i]
			t.meta[i], m = m, old
		}
		i = (i + 1) & t.mask
		m++
	}
}

// remove takes out e, whose key has hash h.
func (t *table[K, V]) remove(h uint64, e *entry[K, V]) {
	i := (h >> hashShift) & t.mask
	for t.slots[i] != e {
		if t.meta[i] == 0 {
			return
		}
		i = (i + 1) & t.mask
	}
	// Shift the following slots back, each one step nearer its home.
	for {
		j := (i + 1) & t.mask
		if t.meta[j]&0xff <= 1 {
			break // empty or at home
		}
		t.slots[i], t.meta[i] = t.slots[j], t.meta[j]-1
		i = j
	}
	t.slots[i], t.meta[i] = nil, 0
	t.n--
}

func (t *table[K, V]) grow(rehash func(K) uint64) {
	old := t.slots
	for n := 2 * len(old); ; n *= 2 {
		t.slots = make([]*entry[K, V], n)
		t.meta = make([]uint16, n)
		t.mask = uint64(n - 1)
		ok := true
		for _, e := range old {
			if e != nil && !t.place(rehash(e.key), e) {
				ok = false
				break
			}
		}
		if ok {
			return
		}
	}
}

// all calls f for every entry until f returns false.
func (t *table[K, V]) all(f func(*entry[K, V]) bool) {
	for _, e := range t.slots {
		if e != nil && !f(e) {
			return
		}
	}
}
