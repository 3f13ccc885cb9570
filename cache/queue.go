package cache

// coldQueue holds, in write order, the ExactLFU entries filed with an
// access count of 0: every write files its entry with count 0 and the
// newest write order, so such entries arrive in order and the oldest is at
// the head. The eviction heap holds the rest. Evicting from a full cache
// that keeps taking new keys, most of which are never read, then costs a
// pop and a push instead of a sift through every level of the heap, each
// of which writes the index of an entry that is not in the CPU's caches.
//
// It is a circular buffer of heap slots; a removal other than the head's
// leaves an empty slot (e == nil) that the head skips and a full buffer
// compacts. An entry in the queue keeps its position in entry.idx as
// queued(p), below -1, so that it can be found in O(1).
type coldQueue[K comparable, V any] struct {
	r    []lfuSlot[K, V]
	head int // position of the first slot in use
	n    int // slots in use, empty ones included; the last one is never empty
	dead int // empty slots among them
	max  int // the capacity r grows to before it has to keep empty slots
}

// queued returns the entry.idx of queue position p, and position the
// reverse.
func queued(p int) int32     { return int32(-2 - p) }
func position(idx int32) int { return int(-2 - idx) }

// maxQueue keeps queued positions within an int32.
const maxQueue = 1<<31 - 3

func (q *coldQueue[K, V]) at(i int) int { // position of the i-th slot in use
	p := q.head + i
	if p >= len(q.r) {
		p -= len(q.r)
	}
	return p
}

// accepts reports whether key k (count 0) is newer than every key queued,
// so that pushing it keeps the queue in order.
func (q *coldQueue[K, V]) accepts(k uint64) bool {
	return k <= maxRecorded && (q.n == 0 || k > q.r[q.at(q.n-1)].key)
}

// push appends s, which accepts allowed, and reports whether there was
// room for it.
func (q *coldQueue[K, V]) push(s lfuSlot[K, V]) bool {
	if q.n == len(q.r) && !q.makeRoom() {
		return false
	}
	p := q.at(q.n)
	q.r[p] = s
	s.e.idx = queued(p)
	q.n++
	return true
}

// makeRoom compacts or grows a full queue: compacting (in place, so that
// overwrites, which leave empty slots, allocate nothing) when a quarter
// of it is empty slots pays for itself, as the next compaction is at
// least as many pushes away.
func (q *coldQueue[K, V]) makeRoom() bool {
	size := len(q.r)
	if q.dead*4 >= size && q.dead > 0 {
		q.compact()
		return true
	}
	switch {
	case size < q.max:
		size = max(min(2*size, q.max), 16)
	case size < maxQueue:
		// Past the cache's capacity only to hold empty slots: live
		// entries are at most q.max, so a full queue of this size is a
		// quarter empty by the next time it fills.
		size = min(size+size/2+1, maxQueue)
	default:
		return false
	}
	q.grow(size)
	return true
}

// compact moves the live slots, in order, to the front of the slots in
// use, where they are.
func (q *coldQueue[K, V]) compact() {
	j := 0
	for i := range q.n {
		if s := q.r[q.at(i)]; s.e != nil {
			if i != j {
				p := q.at(j)
				q.r[p] = s
				s.e.idx = queued(p)
			}
			j++
		}
	}
	for i := j; i < q.n; i++ {
		q.r[q.at(i)] = lfuSlot[K, V]{}
	}
	q.n, q.dead = j, 0
}

// grow moves the live slots, in order, to the front of a new buffer of
// the given size.
func (q *coldQueue[K, V]) grow(size int) {
	q.compact()
	r := make([]lfuSlot[K, V], size)
	for i := range q.n {
		r[i] = q.r[q.at(i)]
		r[i].e.idx = queued(i)
	}
	q.r, q.head = r, 0
}

// first returns the head's slot; the queue is not empty.
func (q *coldQueue[K, V]) first() *lfuSlot[K, V] { return &q.r[q.head] }

// pop removes the head.
func (q *coldQueue[K, V]) pop() {
	q.r[q.head].e.idx = -1
	q.r[q.head] = lfuSlot[K, V]{}
	q.head = q.at(1)
	q.n--
	q.trim()
}

// remove takes e, queued, out.
func (q *coldQueue[K, V]) remove(e *entry[K, V]) {
	p := position(e.idx)
	if p == q.head {
		q.pop()
		return
	}
	q.r[p] = lfuSlot[K, V]{}
	e.idx = -1
	q.dead++
	q.trim()
}

// trim drops empty slots at both ends. The buffer keeps its size, as the
// heap keeps its slots: entries move between the two as they are read and
// written, and a buffer that shrank and grew with them would make
// overwrites allocate.
func (q *coldQueue[K, V]) trim() {
	for q.n > 0 && q.r[q.head].e == nil {
		q.head = q.at(1)
		q.n--
		q.dead--
	}
	for q.n > 0 && q.r[q.at(q.n-1)].e == nil {
		q.n--
		q.dead--
	}
	if q.n == 0 {
		q.head = 0
	}
}

// all calls f for every queued slot, in order.
func (q *coldQueue[K, V]) all(f func(*lfuSlot[K, V])) {
	for i := range q.n {
		if s := &q.r[q.at(i)]; s.e != nil {
			f(s)
		}
	}
}

func (q *coldQueue[K, V]) reset() {
	clear(q.r)
	q.head, q.n, q.dead = 0, 0, 0
}
