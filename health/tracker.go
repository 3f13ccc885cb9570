package health

import (
	"context"
	"slices"
	"strings"
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

// hotNode is the part of a tracked node that a heartbeat and a sweep of a
// quiet node touch, kept densely in Tracker.hot: 64 bytes, one cache line,
// so a heartbeat costs the map lookup and this line, and a sweep over many
// due nodes is a linear pass. Everything else is in tnode.
type hotNode struct {
	last     time.Time     // newest heartbeat
	epoch    uint64        // newest incarnation
	credit   time.Duration // Tracker.credit when last was recorded
	due      int64         // Unix ns: when the next sweep must look at the node (its heap key)
	steadyAt int64         // Unix ns: from then on a heartbeat records a steady result
	region   int32         // slot in Tracker.regions
	state    State
	flapping bool // by the configured flap rule
}

// tnode is the rest of a tracked node, in Tracker.cold at the same slot.
type tnode struct {
	id        string
	since     time.Time // when the node entered its state
	trans     uint64
	intervals phiWindow // inline, so phi costs no extra record load; no vals without phi-accrual
	phi       float64
	flap      flapHistory
	lostAt    time.Time // when the node last left Alive
}

// Tracker tracks the liveness of a fleet from its heartbeats. Heartbeat is
// O(1) and does not allocate for a known node; a sweep looks only at the
// nodes whose deadline has passed (a min-heap of deadlines), never at the
// whole fleet. All methods are safe for concurrent use.
type Tracker struct {
	cfg trackerConfig

	mu sync.Mutex // guards everything below
	// A node lives in a slot: index finds it, hot and cold hold it. Forget
	// moves the last slot into the hole, so the slices stay dense.
	index     map[string]int32
	hot       []hotNode
	cold      []tnode
	deadlines deadlineHeap
	// regions names region slots; a slot no node refers to any more is
	// reused, so the table holds the regions of the tracked nodes only.
	regions     []string
	regionIdx   map[string]int32
	regionRefs  []int32
	freeRegions []int32
	credit      time.Duration // total stall time credited so far
	lastSweep   time.Time
	stalls      uint64
	subs        map[*subscriber]struct{}
	dropped     uint64
}

// NewTracker returns an empty tracker.
func NewTracker(opts TrackerOptions) *Tracker {
	return &Tracker{cfg: opts.config(), index: map[string]int32{}, regionIdx: map[string]int32{}, subs: map[*subscriber]struct{}{}}
}

// Join registers n (its ID and Region; a non-zero LastHeartbeat counts as
// a heartbeat) or updates the region of a known node.
func (t *Tracker) Join(n node.Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.index[n.ID]
	if !ok {
		at := n.LastHeartbeat
		if at.IsZero() {
			at = t.cfg.now()
		}
		t.join(n.ID, n.Region, 0, at)
		return
	}
	if h := &t.hot[k]; t.regions[h.region] != n.Region {
		t.unrefRegion(h.region)
		h.region = t.refRegion(n.Region)
	}
	if !n.LastHeartbeat.IsZero() {
		t.beat(k, t.hot[k].epoch, n.LastHeartbeat)
	}
}

// Heartbeat records a heartbeat of nodeID sent or received at at. An
// unknown node joins; a heartbeat older than the newest one seen is
// ignored.
func (t *Tracker) Heartbeat(nodeID string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k, ok := t.index[nodeID]; ok {
		t.beat(k, t.hot[k].epoch, at)
	} else {
		t.join(nodeID, "", 0, at)
	}
}

// HeartbeatEpoch is Heartbeat with the node's incarnation: a node that
// restarts sends a larger epoch and recovers at once, whatever its state;
// a heartbeat with a smaller epoch than the newest seen is stale and
// ignored, so a delayed message from a previous run cannot resurrect a
// node.
func (t *Tracker) HeartbeatEpoch(nodeID string, epoch uint64, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k, ok := t.index[nodeID]; ok {
		t.beat(k, epoch, at)
	} else {
		t.join(nodeID, "", epoch, at)
	}
}

func (t *Tracker) join(id, region string, epoch uint64, at time.Time) {
	k := int32(len(t.hot))
	due := at.Add(t.cfg.suspect).UnixNano()
	t.hot = append(t.hot, hotNode{last: at, epoch: epoch, credit: t.credit, due: due, region: t.refRegion(region), state: Alive})
	t.cold = append(t.cold, tnode{id: id, since: at})
	nd := &t.cold[k]
	if t.cfg.phi > 0 {
		nd.intervals = phiWindow{vals: make([]float64, t.cfg.phiWindow)}
	}
	nd.flap.record(true, t.cfg)
	t.hot[k].steadyAt = t.steadyAt(at)
	t.index[id] = k
	t.deadlines.push(k, due)
	t.emit(Event{Kind: EventJoin, NodeID: id, Region: region, State: Alive, At: at})
}

func (t *Tracker) beat(k int32, epoch uint64, at time.Time) {
	h := &t.hot[k]
	phiReady := false
	switch {
	case epoch < h.epoch:
		return // a previous incarnation
	case epoch > h.epoch:
		h.epoch = epoch
		if t.cfg.phi > 0 {
			t.cold[k].intervals.reset()
		}
	case !at.After(h.last):
		return // reordered or duplicated
	case t.cfg.phi > 0:
		w := &t.cold[k].intervals
		w.add(at.Sub(h.last))
		phiReady = w.n == 2
	}
	h.last, h.credit = at, t.credit
	if phiReady && h.state == Alive {
		// Phi-accrual can judge the node from now on, but its deadline
		// still comes from SuspectAfter (set at join or restart): bring it
		// forward once, so phi is used from the third heartbeat on.
		if due := t.nextDeadline(k, at.UnixNano(), 0); due < h.due {
			t.setDue(k, due)
		}
	}
	if h.state != Alive {
		t.transition(k, Alive, at)
		// A suspect or dead node waits in the heap for a later threshold
		// than an alive one: bring its deadline forward. This is the only
		// heap work a heartbeat does, besides phi's once above.
		t.setDue(k, t.nextDeadline(k, at.UnixNano(), 0))
	} else if at.UnixNano() >= h.steadyAt {
		// A steady node records a good result now and then, so that old
		// transitions leave the flap window.
		t.result(k, true, at)
	}
}

// setDue changes the deadline of slot k.
func (t *Tracker) setDue(k int32, due int64) {
	t.hot[k].due = due
	t.deadlines.set(k, due)
}

// steadyAt is when a steady heartbeat after a result at at records the
// next one.
func (t *Tracker) steadyAt(at time.Time) int64 { return at.UnixNano() + int64(t.cfg.suspect/2) }

// transition moves slot k to state s at at, with its events.
func (t *Tracker) transition(k int32, s State, at time.Time) {
	h, nd := &t.hot[k], &t.cold[k]
	prev := h.state
	h.state, nd.since = s, at
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
	t.emit(Event{Kind: kind, NodeID: nd.id, Region: t.regions[h.region], State: s, Previous: prev, At: at})
	t.result(k, s == Alive, at)
}

// result records one health result of slot k for flap detection, with the
// flap-start and flap-stop events it causes.
func (t *Tracker) result(k int32, ok bool, at time.Time) {
	h, nd := &t.hot[k], &t.cold[k]
	was, now := nd.flap.record(ok, t.cfg)
	h.flapping, h.steadyAt = now, t.steadyAt(at)
	switch {
	case now && !was:
		t.emit(Event{Kind: EventFlapStart, NodeID: nd.id, Region: t.regions[h.region], State: h.state, At: at})
	case was && !now:
		t.emit(Event{Kind: EventFlapStop, NodeID: nd.id, Region: t.regions[h.region], State: h.state, At: at})
	}
}

// Sweep moves every node whose silence has passed a threshold at now to
// Suspect or Dead, and returns those transitions in the order they were
// made (nil when none). Its cost is O(k log n) for the k nodes whose
// deadline passed, and never more than O(n): when many are due at once (a
// partition, a restart of the tracker), it visits the nodes in one linear
// pass over their dense records and rebuilds the heap. A sweep that
// changes nothing does not allocate.
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
	h := &t.deadlines
	// Past this many due nodes, one pass over every slot and an O(n)
	// rebuild of the heap is cheaper than a sift per node, so a sweep
	// costs O(min(k log n, n)) for k due nodes.
	bulk := max(len(h.e)/16, 256)
	for k := 0; len(h.e) > 0 && h.e[0].at <= nowNs; k++ {
		if k == bulk {
			for s := range t.hot {
				if t.hot[s].due <= nowNs {
					changed = t.visit(int32(s), now, nowNs, changed)
				}
			}
			h.rebuild(t.hot)
			break
		}
		s := h.e[0].slot
		changed = t.visit(s, now, nowNs, changed)
		h.set(s, t.hot[s].due)
	}
	return changed
}

// visit judges slot k, due at now, and sets its next deadline in hot (the
// caller re-files it in the heap).
func (t *Tracker) visit(k int32, now time.Time, nowNs int64, changed []Transition) []Transition {
	h := &t.hot[k]
	silent := now.Sub(h.last) - (t.credit - h.credit)
	next := h.state
	switch {
	case silent >= t.cfg.dead:
		next = Dead
	case h.state == Alive && t.suspicious(k, silent):
		next = Suspect
	}
	switch {
	case next > h.state:
		if len(changed) == cap(changed) {
			// Double, where append grows a large slice by a quarter: a
			// mass expiry returns 100k transitions without copying them
			// over and over.
			changed = slices.Grow(changed, max(len(changed), 16))
		}
		changed = append(changed, Transition{NodeID: t.cold[k].id, Region: t.regions[h.region], From: h.state, To: next, At: now})
		t.transition(k, next, now)
	case h.state != Alive:
		t.result(k, false, now) // still down
	}
	h.due = t.nextDeadline(k, nowNs, silent)
	return changed
}

// suspicious reports whether slot k, silent for that long, is suspect.
func (t *Tracker) suspicious(k int32, silent time.Duration) bool {
	if t.cfg.phi <= 0 || t.cold[k].intervals.n < 2 {
		return silent >= t.cfg.suspect
	}
	nd := &t.cold[k]
	nd.phi = nd.intervals.phi(silent, t.cfg.minStd)
	return nd.phi >= t.cfg.phi
}

// nextDeadline is when slot k, silent for that long at now (Unix ns),
// must next be looked at, in Unix ns: the moment its silence reaches the
// next threshold, given what is known now. Later heartbeats only push the
// real moment further, and the sweep re-checks lazily. It works from the
// silence, which Sweep measures once (on the monotonic clock when the
// times carry it), so a sweep over many nodes does little time arithmetic.
func (t *Tracker) nextDeadline(k int32, now int64, silent time.Duration) int64 {
	switch t.hot[k].state {
	case Alive:
		if t.cfg.phi > 0 && t.cold[k].intervals.n >= 2 {
			if d := t.cold[k].intervals.suspectAfter(t.cfg.phi, t.cfg.minStd); d < t.cfg.dead {
				if d > silent {
					return now + int64(d-silent)
				}
				return now + int64(t.cfg.sweep)
			}
			return now + int64(t.cfg.dead-silent)
		}
		if silent < t.cfg.suspect {
			return now + int64(t.cfg.suspect-silent)
		}
		return now + int64(t.cfg.dead-silent)
	case Suspect:
		return now + int64(t.cfg.dead-silent)
	}
	// Dead nodes wait for a heartbeat, which recovers them without the heap;
	// look again only after a long while, to keep the heap small and sound.
	return now + int64(t.cfg.dead)
}

// refRegion returns the slot of region name, counting one more node in it.
func (t *Tracker) refRegion(name string) int32 {
	s, ok := t.regionIdx[name]
	if !ok {
		if n := len(t.freeRegions); n > 0 {
			s = t.freeRegions[n-1]
			t.freeRegions = t.freeRegions[:n-1]
			t.regions[s] = name
		} else {
			s = int32(len(t.regions))
			t.regions = append(t.regions, name)
			t.regionRefs = append(t.regionRefs, 0)
		}
		t.regionIdx[name] = s
	}
	t.regionRefs[s]++
	return s
}

// unrefRegion counts one node less in region slot s, and frees the slot
// when it was the last.
func (t *Tracker) unrefRegion(s int32) {
	if t.regionRefs[s]--; t.regionRefs[s] == 0 {
		delete(t.regionIdx, t.regions[s])
		t.regions[s] = ""
		t.freeRegions = append(t.freeRegions, s)
	}
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
	k, ok := t.index[nodeID]
	if !ok {
		return false
	}
	t.deadlines.remove(k)
	t.unrefRegion(t.hot[k].region)
	last := int32(len(t.hot) - 1)
	if k != last {
		t.hot[k], t.cold[k] = t.hot[last], t.cold[last]
		t.index[t.cold[k].id] = k
		t.deadlines.renumber(last, k)
	}
	t.hot[last], t.cold[last] = hotNode{}, tnode{}
	t.hot, t.cold, t.deadlines.pos = t.hot[:last], t.cold[:last], t.deadlines.pos[:last]
	delete(t.index, nodeID)
	if cap(t.hot) > 1024 && len(t.hot) < cap(t.hot)/4 {
		// Give back what a shrunk fleet left.
		t.hot, t.cold = slices.Clip(slices.Clone(t.hot)), slices.Clip(slices.Clone(t.cold))
	}
	return true
}

// Node returns what the tracker knows of nodeID.
func (t *Tracker) Node(nodeID string) (NodeState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.index[nodeID]
	if !ok {
		return NodeState{}, false
	}
	return t.view(k), true
}

// Nodes returns every tracked node, sorted by ID. It costs O(n log n) and
// copies; a hub with many nodes should cache the result briefly.
func (t *Tracker) Nodes() []NodeState {
	t.mu.Lock()
	out := make([]NodeState, len(t.hot))
	for k := range out {
		out[k] = t.view(int32(k))
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeState) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Len returns the number of tracked nodes.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.hot)
}

// Stalls returns how many sweeps found the tracker had been stalled.
func (t *Tracker) Stalls() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stalls
}

func (t *Tracker) view(k int32) NodeState {
	h, nd := &t.hot[k], &t.cold[k]
	return NodeState{
		ID: nd.id, Region: t.regions[h.region], State: h.state, LastHeartbeat: h.last, Epoch: h.epoch,
		Since: nd.since, Transitions: nd.trans, Flapping: h.flapping, Phi: nd.phi,
	}
}
