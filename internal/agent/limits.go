package agent

import "sync"

// defaultMaxFunctions is Config.MaxFunctions's zero value; it matches the
// hub's default --max-series-per-node, so that the hub never has to
// refuse series this agent accepted.
const defaultMaxFunctions = 1000

// functionQuota bounds the distinct function IDs the local API accepts
// invocations for: each is a metric series here and at the hub. Past the
// bound, invocations of new functions are refused with an error (400),
// never accepted and dropped later.
type functionQuota struct {
	max  int      // 0: no limit
	seen sync.Map // function ID → struct{}; read without a lock on the hot path

	mu sync.Mutex // guards n, and serialises additions to seen
	n  int
}

func newFunctionQuota(limit int) *functionQuota {
	switch {
	case limit == 0:
		limit = defaultMaxFunctions
	case limit < 0:
		limit = 0
	}
	return &functionQuota{max: limit}
}

// admit reports whether invocations of fn may be recorded, counting fn
// if it is new and within the bound.
func (q *functionQuota) admit(fn string) bool {
	if q.max == 0 {
		return true
	}
	if _, ok := q.seen.Load(fn); ok {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.seen.Load(fn); ok {
		return true
	}
	if q.n >= q.max {
		return false
	}
	q.seen.Store(fn, struct{}{})
	q.n++
	return true
}
