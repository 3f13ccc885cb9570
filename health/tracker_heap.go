package health

import "time"

// hentry is one node's place in the deadline heap. The deadline is kept
// inline, in Unix nanoseconds, so sifting compares without loading nodes.
type hentry struct {
	at int64
	nd *tnode
}

// deadlineHeap is a binary min-heap of nodes by deadline; each node knows
// its index, so its deadline can be changed or removed in O(log n).
type deadlineHeap []hentry

func (h deadlineHeap) less(i, j int) bool { return h[i].at < h[j].at }

func (h deadlineHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].nd.heapIdx, h[j].nd.heapIdx = i, j
}

func (h *deadlineHeap) push(nd *tnode) {
	nd.heapIdx = len(*h)
	*h = append(*h, hentry{nd.deadline.UnixNano(), nd})
	h.up(nd.heapIdx)
}

func (h *deadlineHeap) remove(i int) {
	last := len(*h) - 1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = hentry{}
	*h = (*h)[:last]
	if i != last {
		h.fix(i)
	}
}

// set changes the deadline of the i-th entry and restores the heap order.
func (h deadlineHeap) set(i int, at time.Time) { h[i].at = at.UnixNano(); h.fix(i) }

func (h deadlineHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h deadlineHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h deadlineHeap) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
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

// heapify restores the heap order after many deadlines changed in place.
func (h deadlineHeap) heapify() {
	for i := range h {
		h[i].nd.heapIdx = i
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}
