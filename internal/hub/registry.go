package hub

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/node"
)

// record is everything the hub knows about one node.
type record struct {
	node     node.Node
	liveness health.State // from the Tracker at the newest sweep
	tracked  bool         // the Tracker knew the node at the newest sweep
	epoch    uint64
	seq      uint64
	sync     wire.SyncInfo

	// The node's state as reported by its agent, merged with the desired
	// keys operators set through the API.
	data         map[string]any
	lineage      uint64 // the agent state lineage the versions belong to
	stateVersion int64  // the newest agent version applied
	stateUpdated time.Time

	// The newest metric delta merged, by its message ID's lineage and
	// sequence number: agents send deltas in order, so one at or below it
	// was counted already. Together with lineage and stateVersion this is
	// what makes applying the stream exactly-once in effect beyond
	// JetStream's duplicate window, so it belongs in any checkpoint of the
	// registry.
	metricsLineage uint64
	metricsSeq     uint64

	hbLimit    *rate.Limiter // the node's heartbeat bucket; nil: no limit
	rateLogged atomic.Int64  // unix nanoseconds of the last rate log line
}

// registry holds the fleet. It is the only mutable fleet state of the hub.
type registry struct {
	mu    sync.RWMutex // guards nodes and order
	nodes map[string]*record
	// order is every record sorted by node ID, so that listings need no
	// sort: a node joins once, a listing happens every poll.
	order []*record

	// Set before use (configureLimits), then read-only.
	maxNodes         int                  // admit's bound; 0: none
	heartbeatLimiter func() *rate.Limiter // a new node's bucket; nil: none
}

func newRegistry() *registry { return &registry{nodes: map[string]*record{}} }

func (r *registry) get(id string) *record {
	rec := r.nodes[id]
	if rec == nil {
		rec = &record{node: node.Node{ID: id, Status: node.Online}, data: map[string]any{}}
		if r.heartbeatLimiter != nil {
			rec.hbLimit = r.heartbeatLimiter()
		}
		r.nodes[id] = rec
		i, _ := slices.BinarySearchFunc(r.order, id, func(rec *record, id string) int { return strings.Compare(rec.node.ID, id) })
		r.order = slices.Insert(r.order, i, rec)
	}
	return rec
}

// admit reports whether the registry tracks id, adding it if it is below
// maxNodes.
func (r *registry) admit(id string) bool {
	r.mu.RLock()
	known := r.nodes[id] != nil
	r.mu.RUnlock()
	if known {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nodes[id] == nil && r.maxNodes > 0 && len(r.nodes) >= r.maxNodes {
		return false
	}
	r.get(id)
	return true
}

// allowHeartbeat takes a token from id's heartbeat bucket at now. Unknown
// nodes pass (their first heartbeat goes through admit). logged is where
// to note a log line about the node's refusals.
func (r *registry) allowHeartbeat(id string, now time.Time) (ok bool, logged *atomic.Int64) {
	r.mu.RLock()
	rec := r.nodes[id]
	r.mu.RUnlock()
	if rec == nil || rec.hbLimit == nil {
		return true, nil
	}
	return rec.hbLimit.AllowN(now, 1), &rec.rateLogged
}

// heartbeat records h, received at now. A heartbeat from an older agent run
// (epoch), or an older one of the same run, is stale and ignored (ok is
// false), so a delayed message cannot roll a node back. joined is true for
// the first heartbeat of a node, or one that moved it to another region.
func (r *registry) heartbeat(h wire.Heartbeat, now time.Time) (joined, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(h.NodeID)
	if h.Epoch < rec.epoch || (h.Epoch == rec.epoch && h.Seq <= rec.seq && rec.seq != 0) {
		return false, false
	}
	joined = rec.node.LastHeartbeat.IsZero() || rec.node.Region != h.Region
	rec.epoch, rec.seq = h.Epoch, h.Seq
	rec.node.Region = h.Region
	rec.node.Address = h.Address
	if st := node.Status(h.Status); st.Valid() {
		rec.node.Status = st
	}
	rec.node.LastHeartbeat = now
	rec.sync = h.Sync
	return joined, true
}

// setLiveness copies the Tracker's verdicts, sorted by ID as both the
// Tracker and the registry keep them, in one merge pass.
func (r *registry) setLiveness(states []health.NodeState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for _, rec := range r.order {
		for i < len(states) && states[i].ID < rec.node.ID {
			i++
		}
		rec.tracked = i < len(states) && states[i].ID == rec.node.ID
		if rec.tracked {
			rec.liveness = states[i].State
		}
	}
}

// stateResult is what applyState did with a change.
type stateResult int

const (
	stateApplied stateResult = iota
	stateStale               // at or below the applied version, or of an older lineage: a duplicate
	stateGap                 // its Base is above the applied version: a predecessor is missing
)

// applyState merges a pushed change if it is newer than what was applied.
// Versions may skip (the agent coalesces changes past its queue bound, and
// a coalesced change carries every key it absorbed), so newer is enough as
// long as the change's Base is applied: a change whose predecessor is
// missing is left for its republished copy. A
// newer lineage (an agent that lost its data) restarts the versions; an
// older one is stale.
func (r *registry) applyState(c wire.StateChange) stateResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(c.NodeID)
	switch {
	case c.Lineage < rec.lineage:
		return stateStale
	case c.Lineage > rec.lineage:
		rec.lineage, rec.stateVersion = c.Lineage, 0
	}
	if c.Version <= rec.stateVersion {
		return stateStale
	}
	if c.Base > rec.stateVersion {
		// A predecessor has not arrived (lost in transit while this one got
		// through): applying this would leave a gap. The agent republishes
		// both in a new attempt, so this copy is skipped, not lost.
		return stateGap
	}
	maps.Copy(rec.data, c.Data)
	rec.stateVersion = c.Version
	rec.stateUpdated = c.At
	return stateApplied
}

// acceptDelta reports whether the metric delta (lineage, seq) of node id,
// which admit let in, is new, and if so records it as the newest: a delta
// at or below the newest of its lineage, or of an older lineage, was
// counted already (a resend after a lost acknowledgement, a restart, or an
// agent that stayed down past the stream's duplicate window).
func (r *registry) acceptDelta(id string, lineage, seq uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(id)
	switch {
	case lineage < rec.metricsLineage:
		return false
	case lineage == rec.metricsLineage && seq <= rec.metricsSeq:
		return false
	}
	rec.metricsLineage, rec.metricsSeq = lineage, seq
	return true
}

// setDesired merges operator-set keys into the hub's view of the node.
func (r *registry) setDesired(id string, data map[string]any, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(id)
	maps.Copy(rec.data, data)
	if at.After(rec.stateUpdated) {
		rec.stateUpdated = at
	}
}

func (r *registry) known(id string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.nodes[id] != nil
}

// snapshot is a copy of one record for readers.
type snapshot struct {
	Node         node.Node
	Liveness     string // "alive", "suspect", "dead", or "unknown" before the Tracker's first verdict
	Sync         wire.SyncInfo
	StateVersion int64
	StateUpdated time.Time
	Data         map[string]any
}

func (r *registry) one(id string, withData bool) (snapshot, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rec := r.nodes[id]
	if rec == nil {
		return snapshot{}, false
	}
	return rec.snapshot(withData), true
}

func (rec *record) snapshot(withData bool) snapshot {
	s := snapshot{Node: rec.node, Sync: rec.sync, StateVersion: rec.stateVersion, StateUpdated: rec.stateUpdated, Liveness: "unknown"}
	if rec.tracked {
		s.Liveness = rec.liveness.String()
	}
	if withData {
		s.Data = maps.Clone(rec.data)
	}
	return s
}

// all returns every node, sorted by ID.
func (r *registry) all() []snapshot {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]snapshot, len(r.order))
	for i, rec := range r.order {
		out[i] = rec.snapshot(false)
	}
	return out
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.nodes)
}
