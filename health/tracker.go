package health

import (
	"context"
	"slices"
	"sync"
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

// tnode is a tracked node. Fields are guarded by Tracker.mu.
type tnode struct {
	id, region string
	state      State
	last       time.Time // newest heartbeat
	credit     time.Duration
	epoch      uint64
	since      time.Time
	trans      uint64
	deadline   time.Time // when the next sweep must look at the node
	heapIdx    int
	intervals  *phiWindow // nil without phi-accrual
	phi        float64
	flap       flapHistory
	lostAt     time.Time // when the node last left Alive
}

// Tracker tracks the liveness of a fleet from its heartbeats. Heartbeat is
// O(1) and does not allocate for a known node; a sweep looks only at the
// nodes whose deadline has passed (a min-heap of deadlines), never at the
// whole fleet. All methods are safe for concurrent use.
type Tracker struct {
	cfg trackerConfig

	mu        sync.Mutex // guards everything below
	nodes     map[string]*tnode
	deadlines deadlineHeap
	credit    time.Duration // total stall time credited so far
	lastSweep time.Time
	stalls    uint64
	subs      map[*subscriber]struct{}
	dropped   uint64
}

// NewTracker returns an empty tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	return &Tracker{cfg: opts.config(), nodes: map[string]*tnode{}, subs: map[*subscriber]struct{}{}}
}

// Join registers n (its ID and Region; a non-zero LastHeartbeat counts as
// a heartbeat) or updates the region of a known node.
func (t *Tracker) Join(n node.Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	nd := t.nodes[n.ID]
	if nd == nil {
		at := n.LastHeartbeat
		if at.IsZero() {
			at = t.cfg.now()
		}
		t.join(n.ID, n.Region, 0, at)
		return
	}
	nd.region = n.Region
	if !n.LastHeartbeat.IsZero() {
		t.beat(nd, nd.epoch, n.LastHeartbeat)
	}
}

// Heartbeat records a heartbeat of nodeID sent or received at at. An
// unknown node joins; a heartbeat older than the newest one seen is
// ignored.
func (t *Tracker) Heartbeat(nodeID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if nd := t.nodes[nodeID]; nd != nil {
		t.beat(nd, nd.epoch, at)
		return
	}
	t.join(nodeID, "", 0, at)
}

// HeartbeatEpoch is Heartbeat with the node's incarnation: a node that
// restarts sends a larger epoch and recovers at once, whatever its state;
// a heartbeat with a smaller epoch than the newest seen is stale and
// ignored, so a delayed message from a previous run cannot resurrect a
// node.
func (t *Tracker) HeartbeatEpoch(nodeID string, epoch uint64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if nd := t.nodes[nodeID]; nd != nil {
		t.beat(nd, epoch, at)
		return
	}
	t.join(nodeID, "", epoch, at)
}

func (t *Tracker) join(id, region string, epoch uint64, at time.Time) {
	nd := &tnode{id: id, region: region, epoch: epoch, last: at, since: at, credit: t.credit}
	if t.cfg.phi > 0 {
		nd.intervals = newPhiWindow(t.cfg.phiWindow)
	}
	nd.flap.record(true, at, t.cfg)
	nd.deadline = at.Add(t.cfg.suspect)
	t.nodes[id] = nd
	t.deadlines.push(nd)
	t.emit(Event{Kind: EventJoin, NodeID: id, Region: region, State: Alive, At: at})
}

func (t *Tracker) beat(nd *tnode, epoch uint64, at time.Time) {
	switch {
	case epoch < nd.epoch:
		return // a previous incarnation
	case epoch > nd.epoch:
		nd.epoch = epoch
		if nd.intervals != nil {
			nd.intervals.reset()
		}
	case !at.After(nd.last):
		return // reordered or duplicated
	default:
		if nd.intervals != nil {
			nd.intervals.add(at.Sub(nd.last))
		}
	}
	nd.last, nd.credit = at, t.credit
	if nd.state != Alive {
		t.transition(nd, Alive, at)
		// A suspect or dead node waits in the heap for a later threshold
		// than an alive one: bring its deadline forward. This is the only
		// heap work a heartbeat does, and only on recovery.
		nd.deadline = t.nextDeadline(nd, at)
		t.deadlines.set(nd.heapIdx, nd.deadline)
	} else if at.Sub(nd.flap.lastAt) >= t.cfg.suspect/2 {
		// A steady node records a good result now and then, so that old
		// transitions leave the flap window.
		t.result(nd, true, at)
	}
}

// transition moves nd to state s at at, with its events.
func (t *Tracker) transition(nd *tnode, s State, at time.Time) {
	prev := nd.state
	nd.state, nd.since = s, at
	nd.trans++
	kind := EventRecovered
	switch s {
	case Suspect:
		kind = EventSuspect
	case Dead:
		kind = EventDead
	}
	if prev == Alive {
		nd.lostAt = at
	}
	t.emit(Event{Kind: kind, NodeID: nd.id, Region: nd.region, State: s, Previous: prev, At: at})
	t.result(nd, s == Alive, at)
}

// result records one health result of nd for flap detection, with the
// flap-start and flap-stop events it causes.
func (t *Tracker) result(nd *tnode, ok bool, at time.Time) {
	switch was, now := nd.flap.record(ok, at, t.cfg); {
	case now && !was:
		t.emit(Event{Kind: EventFlapStart, NodeID: nd.id, Region: nd.region, State: nd.state, At: at})
	case was && !now:
		t.emit(Event{Kind: EventFlapStop, NodeID: nd.id, Region: nd.region, State: nd.state, At: at})
	}
}

// Sweep moves every node whose silence has passed a threshold at now to
// Suspect or Dead, and returns those transitions in the order they were
// made (nil when none). Its cost is O(k log n) for the k nodes whose
// deadline passed, and never more than O(n): when many are due at once (a
// partition, a restart of the tracker), it visits them in one pass and
// rebuilds the heap. A sweep that changes nothing does not allocate.
//
// If this sweep comes more than StallThreshold later than SweepInterval
// after the previous one, the tracker assumes it was not running (a GC
// pause, a starved CPU, a suspended VM) and credits that time to every
// node whose last heartbeat predates the stall: nobody is convicted for
// the time the tracker was not looking.
func (t *Tracker) Sweep(now time.Time) []Transition {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.lastSweep.IsZero() && t.cfg.stall > 0 {
		if late := now.Sub(t.lastSweep) - t.cfg.sweep; late > t.cfg.stall {
			t.credit += late
			t.stalls++
		}
	}
	t.lastSweep = now
	var changed []Transition
	nowNs := now.UnixNano()
	// Past this many due nodes, visiting the rest in array order and
	// rebuilding the heap in O(n) is cheaper than a sift per node, so a
	// sweep costs O(min(k log n, n)) for k due nodes.
	bulk := max(len(t.deadlines)/16, 256)
	for k := 0; len(t.deadlines) > 0 && t.deadlines[0].at <= nowNs; k++ {
		if k == bulk {
			for i := range t.deadlines {
				if e := &t.deadlines[i]; e.at <= nowNs {
					changed = t.visit(e.nd, now, changed)
					e.at = e.nd.deadline.UnixNano()
				}
			}
			t.deadlines.heapify()
			break
		}
		nd := t.deadlines[0].nd
		changed = t.visit(nd, now, changed)
		t.deadlines.set(0, nd.deadline)
	}
	return changed
}

// visit judges one due node at now and sets its next deadline (the caller
// re-files it in the heap).
func (t *Tracker) visit(nd *tnode, now time.Time, changed []Transition) []Transition {
	silent := now.Sub(nd.last) - (t.credit - nd.credit)
	next := nd.state
	switch {
	case silent >= t.cfg.dead:
		next = Dead
	case nd.state == Alive && t.suspicious(nd, silent):
		next = Suspect
	}
	switch {
	case next > nd.state:
		changed = append(changed, Transition{NodeID: nd.id, Region: nd.region, From: nd.state, To: next, At: now})
		t.transition(nd, next, now)
	case nd.state != Alive:
		t.result(nd, false, now) // still down
	}
	nd.deadline = t.nextDeadline(nd, now)
	return changed
}

// suspicious reports whether a node silent for that long is suspect.
func (t *Tracker) suspicious(nd *tnode, silent time.Duration) bool {
	if nd.intervals == nil || nd.intervals.n < 2 {
		return silent >= t.cfg.suspect
	}
	nd.phi = nd.intervals.phi(silent, t.cfg.minStd)
	return nd.phi >= t.cfg.phi
}

// nextDeadline is when nd must next be looked at: the moment its silence
// reaches the next threshold, given what is known now. Later heartbeats
// only push the real moment further, and the sweep re-checks lazily.
func (t *Tracker) nextDeadline(nd *tnode, now time.Time) time.Time {
	base := nd.last.Add(t.credit - nd.credit)
	switch nd.state {
	case Alive:
		if nd.intervals != nil && nd.intervals.n >= 2 {
			if d := nd.intervals.suspectAfter(t.cfg.phi, t.cfg.minStd); d < t.cfg.dead {
				at := base.Add(d)
				if at.After(now) {
					return at
				}
				return now.Add(t.cfg.sweep)
			}
			return base.Add(t.cfg.dead)
		}
		if at := base.Add(t.cfg.suspect); at.After(now) {
			return at
		}
		return base.Add(t.cfg.dead)
	case Suspect:
		return base.Add(t.cfg.dead)
	}
	// Dead nodes wait for a heartbeat, which recovers them without the heap;
	// look again only after a long while, to keep the heap small and sound.
	return now.Add(t.cfg.dead)
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
	t.mu.Lock()
	defer t.mu.Unlock()
	nd := t.nodes[nodeID]
	if nd == nil {
		return false
	}
	t.deadlines.remove(nd.heapIdx)
	delete(t.nodes, nodeID)
	return true
}

// Node returns what the tracker knows of nodeID.
func (t *Tracker) Node(nodeID string) (NodeState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	nd := t.nodes[nodeID]
	if nd == nil {
		return NodeState{}, false
	}
	return nd.view(), true
}

// Nodes returns every tracked node, sorted by ID. It costs O(n log n) and
// copies; a hub with many nodes should cache the result briefly.
func (t *Tracker) Nodes() []NodeState {
	t.mu.Lock()
	out := make([]NodeState, 0, len(t.nodes))
	for _, nd := range t.nodes {
		out = append(out, nd.view())
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeState) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// Len returns the number of tracked nodes.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.nodes)
}

// Stalls returns how many sweeps found the tracker had been stalled.
func (t *Tracker) Stalls() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stalls
}

func (nd *tnode) view() NodeState {
	return NodeState{
		ID: nd.id, Region: nd.region, State: nd.state, LastHeartbeat: nd.last, Epoch: nd.epoch,
		Since: nd.since, Transitions: nd.trans, Flapping: nd.flap.flapping, Phi: nd.phi,
	}
}
