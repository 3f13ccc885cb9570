package health

// hentry is one node's place in the deadline heap: the deadline, in Unix
// nanoseconds, inline so that sifting compares without loading nodes.
type hentry struct {
	at   int64
	slot int32
}

// deadlineHeap is a binary min-heap of node slots by deadline. pos[slot]
// is the slot's index in e, so a deadline can be changed or removed in
// O(log n); it is dense, like the tracker's node slices, so a sift touches
// no node record.
type deadlineHeap struct {
	e   []hentry
	pos []int32
}

func (h *deadlineHeap) less(i, j int) bool { return h.e[i].at < h.e[j].at }

func (h *deadlineHeap) swap(i, j int) {
	h.e[i], h.e[j] = h.e[j], h.e[i]
	h.pos[h.e[i].slot], h.pos[h.e[j].slot] = int32(i), int32(j)
}

// push files a new slot, which must be len(h.pos).
func (h *deadlineHeap) push(slot int32, at int64) {
	h.pos = append(h.pos, int32(len(h.e)))
	h.e = append(h.e, hentry{at, slot})
	h.up(len(h.e) - 1)
}

// set changes slot's deadline and restores the heap order.
func (h *deadlineHeap) set(slot int32, at int64) {
	i := int(h.pos[slot])
	h.e[i].at = at
	h.fix(i)
}

// remove takes slot out of the heap; its pos entry is left for the caller
// to reuse or drop.
func (h *deadlineHeap) remove(slot int32) {
	i, last := int(h.pos[slot]), len(h.e)-1
	if i != last {
		h.swap(i, last)
	}
	h.e = h.e[:last]
	if i != last {
		h.fix(i)
	}
}

// renumber records that the node in slot from now lives in slot to (the
// tracker moved it into a hole).
func (h *deadlineHeap) renumber(from, to int32) {
	i := h.pos[from]
	h.e[i].slot = to
	h.pos[to] = i
}

func (h *deadlineHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *deadlineHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *deadlineHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h.e) {
			break
		}
		m := l
		if r := l + 1; r < len(h.e) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}

// rebuild files every slot anew with its hot due deadline, in O(n): after a
// sweep that moved most deadlines, this is cheaper than a sift per node.
func (h *deadlineHeap) rebuild(hot []hotNode) {
	h.e, h.pos = h.e[:len(hot)], h.pos[:len(hot)]
	for s := range hot {
		h.e[s] = hentry{hot[s].due, int32(s)}
		h.pos[s] = int32(s)
	}
	for i := len(h.e)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
