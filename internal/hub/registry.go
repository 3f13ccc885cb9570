package hub

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

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
	// held are changes of this lineage that arrived before a version they
	// follow (their Prev is past stateVersion), waiting for it.
	held      []wire.StateChange
	heldSince time.Time // when held last became non-empty
}

// registry holds the fleet. It is the only mutable fleet state of the hub.
type registry struct {
	mu    sync.RWMutex // guards nodes and order
	nodes map[string]*record
	// order is every record sorted by node ID, so that listings need no
	// sort: a node joins once, a listing happens every poll.
	order []*record
	// gapsSkipped counts held changes applied without the versions before
	// them (see releaseOldest).
	gapsSkipped uint64
	// onApply, when set, is called with r.mu held for every state change
	// applied, in the order applied.
	onApply func(nodeID string, lineage uint64, version int64)
}

func newRegistry() *registry { return &registry{nodes: map[string]*record{}} }

func (r *registry) get(id string) *record {
	rec := r.nodes[id]
	if rec == nil {
		rec = &record{node: node.Node{ID: id, Status: node.Online}, data: map[string]any{}}
		r.nodes[id] = rec
		i, _ := slices.BinarySearchFunc(r.order, id, func(rec *record, id string) int { return strings.Compare(rec.node.ID, id) })
		r.order = slices.Insert(r.order, i, rec)
	}
	return rec
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

// heldLimit bounds the changes held per node while they wait for the
// versions they follow. An agent has at most its push window in flight, far
// fewer; past the bound the hub stops waiting for the oldest gap (see
// releaseOldest) rather than grow without end.
const heldLimit = 4096

// applyState merges a pushed change if it is newer than what was applied,
// and reports how many changes it applied (c and the held changes c let
// through) and whether it held c back.
//
// Versions may skip: the agent coalesces changes past its queue bound, and
// a coalesced change carries every key of the versions it covers, from
// c.Prev+1 to c.Version. So a change applies when it is newer than what was
// applied and covers everything after it (c.Prev at most the applied
// version). A change that arrives before a version it follows (the agent
// pushes several at once, and a lost one is resent after later ones landed)
// is held until that version arrives, so no key is skipped and no older
// version is ever applied after a newer one. A newer lineage (an agent that
// lost its data) restarts the versions; an older one is stale.
func (r *registry) applyState(c wire.StateChange) (applied int, held bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.get(c.NodeID)
	switch {
	case c.Lineage < rec.lineage:
		return 0, false
	case c.Lineage > rec.lineage:
		rec.lineage, rec.stateVersion, rec.held = c.Lineage, 0, nil
	}
	if c.Version <= rec.stateVersion {
		return 0, false
	}
	if c.Prev > rec.stateVersion {
		for _, h := range rec.held {
			if h.Prev == c.Prev && h.Version == c.Version {
				return 0, false // the stream's de-duplication window has passed
			}
		}
		if len(rec.held) == 0 {
			rec.heldSince = time.Now()
		}
		rec.held = append(rec.held, c)
		if len(rec.held) > heldLimit {
			applied = r.releaseOldest(rec)
		}
		return applied, true
	}
	r.applyLocked(rec, c)
	return 1 + r.drainHeld(rec), false
}

// applyLocked merges c into rec; r.mu is held and c is newer than rec.
func (r *registry) applyLocked(rec *record, c wire.StateChange) {
	maps.Copy(rec.data, c.Data)
	rec.stateVersion = c.Version
	rec.stateUpdated = c.At
	if r.onApply != nil {
		r.onApply(rec.node.ID, rec.lineage, c.Version)
	}
}

// drainHeld applies the held changes that now follow the applied version,
// the one reaching furthest first, drops those the applied version has
// passed, and returns how many it applied.
func (r *registry) drainHeld(rec *record) int {
	n := 0
	for len(rec.held) > 0 {
		best := -1
		kept := rec.held[:0]
		for _, h := range rec.held {
			if h.Version <= rec.stateVersion {
				continue // covered by what was applied
			}
			kept = append(kept, h)
			if h.Prev <= rec.stateVersion && (best < 0 || h.Version > kept[best].Version) {
				best = len(kept) - 1
			}
		}
		clear(rec.held[len(kept):])
		rec.held = kept
		if best < 0 {
			break
		}
		c := rec.held[best]
		rec.held = slices.Delete(rec.held, best, best+1)
		r.applyLocked(rec, c)
		n++
	}
	if len(rec.held) == 0 {
		rec.held = nil
	}
	return n
}

// releaseOldest stops waiting for the versions before the held change that
// follows the oldest version, applies it and what it lets through, and
// returns how many changes it applied. The versions it stops waiting for
// are lost to the hub, which is why it is only done when they cannot come:
// past heldLimit, and when a replay of the stream ends with changes still
// held (their predecessors have aged out of the stream).
func (r *registry) releaseOldest(rec *record) int {
	if len(rec.held) == 0 {
		return 0
	}
	oldest := 0
	for i, h := range rec.held {
		if h.Prev < rec.held[oldest].Prev || h.Prev == rec.held[oldest].Prev && h.Version > rec.held[oldest].Version {
			oldest = i
		}
	}
	c := rec.held[oldest]
	rec.held = slices.Delete(rec.held, oldest, oldest+1)
	r.gapsSkipped++
	r.applyLocked(rec, c)
	return 1 + r.drainHeld(rec)
}

// releaseHeld applies every held change, skipping the gaps before them,
// and returns how many changes it applied. The hub calls it when it has
// replayed the stream: a change still held then follows versions the
// stream no longer has.
func (r *registry) releaseHeld() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.order {
		for len(rec.held) > 0 {
			n += r.releaseOldest(rec)
		}
	}
	return n
}

// releaseUnanchored releases the held changes of every node of which
// nothing of its current lineage has been applied and whose changes have
// been held since before cutoff, and returns how many changes it applied.
// That is a hub that lost the start of a lineage (a hub without DataDir
// restarted, and agents carry on where they were): the versions before the
// held ones will never come. A lineage that has begun at the hub waits for
// its gaps however long, because its agent resends them.
func (r *registry) releaseUnanchored(cutoff time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.order {
		if rec.stateVersion == 0 && len(rec.held) > 0 && rec.heldSince.Before(cutoff) {
			for len(rec.held) > 0 {
				n += r.releaseOldest(rec)
			}
		}
	}
	return n
}

// heldCount returns how many changes are held, and how many gaps the
// registry stopped waiting for, for the hub's counters.
func (r *registry) heldCount() (held int, gapsSkipped uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, rec := range r.order {
		held += len(rec.held)
	}
	return held, r.gapsSkipped
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
