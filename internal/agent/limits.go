package agent

import (
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/edgeinfra/edgeinfra/internal/wire"
)

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

// errStateTooLarge is wrapped by UpdateState's refusals of a change that
// would make the state too large to ship.
var errStateTooLarge = errors.New("agent: state too large")

// checkStateFits refuses a change that would make the whole state hold
// more than wire.MaxKeys keys or encode to more than wire.MaxMessageSize
// bytes. Any pending change, even one coalesced from many, is a subset of
// the state, so it then always fits in one message that the hub accepts;
// otherwise a change could be accepted here and never delivered. stateMu
// is held. It costs an encoding of the state, which is at most 1 MiB.
func (a *Agent) checkStateFits(data map[string]any) error {
	merged := a.sync.State().Data
	if merged == nil {
		merged = map[string]any{}
	}
	maps.Copy(merged, data)
	if len(merged) > wire.MaxKeys {
		return fmt.Errorf("%w: the state would hold %d keys, over the limit of %d", errStateTooLarge, len(merged), wire.MaxKeys)
	}
	b, err := wire.Encode(wire.StateChange{V: wire.Version, NodeID: a.cfg.ID, Lineage: a.lineage, Version: 1 << 62, Data: merged})
	if err != nil {
		return fmt.Errorf("agent: encoding the state: %w", err)
	}
	if len(b) > wire.MaxMessageSize {
		return fmt.Errorf("%w: the state would encode to %d bytes, over the limit of %d; store large values in the cache instead", errStateTooLarge, len(b), wire.MaxMessageSize)
	}
	return nil
}
