package health

import (
	"context"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// State is a node's liveness as a [Tracker] sees it.
type State uint8

// The states a tracked node moves through. Alive → Suspect → Dead as it
// stays silent, and back to Alive on a heartbeat.
const (
	Alive State = iota
	Suspect
	Dead
)

// String returns "alive", "suspect" or "dead".
func (s State) String() string {
	switch s {
	case Alive:
		return "alive"
	case Suspect:
		return "suspect"
	case Dead:
		return "dead"
	}
	return "unknown"
}

// MarshalText encodes the state as its name, for JSON.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// NodeState is a copy of what a Tracker knows about one node.
type NodeState struct {
	ID            string    `json:"id"`
	Region        string    `json:"region"`
	State         State     `json:"state"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Epoch         uint64    `json:"epoch"`
	Since         time.Time `json:"since"`        // when the node entered State
	Transitions   uint64    `json:"transitions"`  // state changes so far
	Flapping      bool      `json:"flapping"`     // by the configured flap rule
	Phi           float64   `json:"phi,omitzero"` // with phi-accrual: the suspicion at the last sweep
}

// Transition is one state change a [Tracker.Sweep] made.
type Transition struct {
	NodeID string    `json:"node_id"`
	Region string    `json:"region,omitempty"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	At     time.Time `json:"at"` // the sweep's now
}

// Tracker tracks the liveness of a fleet from its heartbeats. Heartbeat is
// O(1) and does not allocate for a known node; a sweep looks only at the
// nodes whose deadline has passed (a min-heap of deadlines), never at the
// whole fleet. All methods are safe for concurrent use.
//
// The fleet is split into shards by a hash of the node ID, each with its
// own lock, so heartbeats from goroutines on different cores rarely wait
// for each other. Everything about one node happens under its shard's
// lock, in order. Methods over the whole fleet (Sweep, Report, Nodes,
// Len) take one shard at a time: under concurrent heartbeats they see
// each shard at one instant, not the whole fleet.
type Tracker struct {
	cfg    trackerConfig
	seed   maphash.Seed
	shards []shard      // a power of two of them
	credit atomic.Int64 // total stall time credited so far, in ns; changed only by Sweep

	sweepMu   sync.Mutex // serialises sweeps; guards lastSweep and stalls
	lastSweep time.Time
	stalls    uint64

	subsMu  sync.Mutex                    // serialises changes of subs
	subs    atomic.Pointer[[]*subscriber] // copied on change: emit reads it under a shard lock
	dropped atomic.Uint64
}

// NewTracker returns an empty tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	// Four shards per core make two goroutines on different cores meet on
	// one lock rarely; more only costs memory.
	n := 8
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n <<= 1
	}
	return newTracker(opts, n)
}

// newTracker returns a tracker with n shards, a power of two.
func newTracker(opts TrackerOptions, n int) *Tracker {
	t := &Tracker{cfg: opts.config(), seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range t.shards {
		t.shards[i].init(t)
	}
	return t
}

// shard returns the shard of node id.
func (t *Tracker) shard(id string) *shard {
	return &t.shards[maphash.String(t.seed, id)&uint64(len(t.shards)-1)]
}

// Join registers n (its ID and Region; a non-zero LastHeartbeat counts as
// a heartbeat) or updates the region of a known node.
func (t *Tracker) Join(n node.Node) {
	s := t.shard(n.ID)
	s.mu.Lock()
	s.joinNode(n)
	s.mu.Unlock()
}

// Heartbeat records a heartbeat of nodeID sent or received at at. An
// unknown node joins; a heartbeat older than the newest one seen is
// ignored.
func (t *Tracker) Heartbeat(nodeID string, at time.Time) {
	s := t.shard(nodeID)
	s.mu.Lock()
	if k, ok := s.index[nodeID]; ok {
		s.beat(k, s.hot[k].epoch, at)
	} else {
		s.join(nodeID, "", 0, at)
	}
	s.mu.Unlock()
}

// HeartbeatEpoch is Heartbeat with the node's incarnation: a node that
// restarts sends a larger epoch and recovers at once, whatever its state;
// a heartbeat with a smaller epoch than the newest seen is stale and
// ignored, so a delayed message from a previous run cannot resurrect a
// node.
func (t *Tracker) HeartbeatEpoch(nodeID string, epoch uint64, at time.Time) {
	s := t.shard(nodeID)
	s.mu.Lock()
	if k, ok := s.index[nodeID]; ok {
		s.beat(k, epoch, at)
	} else {
		s.join(nodeID, "", epoch, at)
	}
	s.mu.Unlock()
}

// Sweep moves every node whose silence has passed a threshold at now to
// Suspect or Dead, and returns those transitions in the order they were
// made (nil when none), shard by shard. Its cost is O(k log n) for the k
// nodes whose deadline passed, and never more than O(n): when many are due
// at once (a partition, a restart of the tracker), it visits the nodes of
// a shard in one linear pass over their dense records and rebuilds the
// shard's heap. A sweep that changes nothing does not allocate. Sweeps do
// not run concurrently with each other; heartbeats go on in the shards a
// sweep is not in.
//
// If this sweep comes more than StallThreshold later than SweepInterval
// after the previous one, the tracker assumes it was not running (a GC
// pause, a starved CPU, a suspended VM) and credits that time to every
// node whose last heartbeat predates the stall: nobody is convicted for
// the time the tracker was not looking.
func (t *Tracker) Sweep(now time.Time) []Transition {
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	if !t.lastSweep.IsZero() && t.cfg.stall > 0 {
		if late := now.Sub(t.lastSweep) - t.cfg.sweep; late > t.cfg.stall {
			t.credit.Add(int64(late))
			t.stalls++
		}
	}
	t.lastSweep = now
	var changed []Transition
	for i := range t.shards {
		changed = t.shards[i].sweep(now, changed)
	}
	return changed
}

// Run sweeps every SweepInterval until ctx is done, and returns ctx.Err().
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			t.Sweep(t.cfg.now())
		}
	}
}

// Forget stops tracking nodeID and reports whether it was tracked.
func (t *Tracker) Forget(nodeID string) bool {
	s := t.shard(nodeID)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forget(nodeID)
}

// Node returns what the tracker knows of nodeID.
func (t *Tracker) Node(nodeID string) (NodeState, bool) {
	s := t.shard(nodeID)
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.index[nodeID]
	if !ok {
		return NodeState{}, false
	}
	return s.view(k), true
}

// Nodes returns every tracked node, sorted by ID. It costs O(n log n) and
// copies; a hub with many nodes should cache the result briefly.
func (t *Tracker) Nodes() []NodeState {
	var out []NodeState
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		out = slices.Grow(out, len(s.hot))
		for k := range s.hot {
			out = append(out, s.view(int32(k)))
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b NodeState) int { return strings.Compare(a.ID, b.ID) })
	if out == nil {
		out = []NodeState{}
	}
	return out
}

// Len returns the number of tracked nodes.
func (t *Tracker) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.hot)
		s.mu.Unlock()
	}
	return n
}

// Stalls returns how many sweeps found the tracker had been stalled.
func (t *Tracker) Stalls() uint64 {
	t.sweepMu.Lock()
	defer t.sweepMu.Unlock()
	return t.stalls
}
