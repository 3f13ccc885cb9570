package health

import (
	"slices"
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// hotNode is the part of a tracked node that a heartbeat and a sweep of a
// quiet node touch, kept densely in shard.hot: 64 bytes, one cache line,
// so a heartbeat costs the map lookup and this line, and a sweep over many
// due nodes is a linear pass. Everything else is in tnode.
type hotNode struct {
	last     time.Time     // newest heartbeat
	epoch    uint64        // newest incarnation
	credit   time.Duration // Tracker.credit when last was recorded
	due      int64         // Unix ns: when the next sweep must look at the node (its heap key)
	steadyAt int64         // Unix ns: from then on a heartbeat records a steady result
	region   int32         // slot in shard.regions
	state    State
	flapping bool // by the configured flap rule
}

// tnode is the rest of a tracked node, in shard.cold at the same slot.
type tnode struct {
	id        string
	since     time.Time // when the node entered its state
	trans     uint64
	intervals phiWindow // inline, so phi costs no extra record load; no vals without phi-accrual
	phi       float64
	flap      flapHistory
	lostAt    time.Time // when the node last left Alive
}

// shard is the part of a Tracker's fleet whose IDs hash to it, with its
// own lock.
type shard struct {
	t *Tracker

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
	counts      []RegionReport // Report's scratch
	_           [64]byte       // keeps the next shard's lock off these cache lines
}

func (s *shard) init(t *Tracker) {
	s.t, s.index, s.regionIdx = t, map[string]int32{}, map[string]int32{}
}

// credit is the tracker's stall credit.
func (s *shard) credit() time.Duration { return time.Duration(s.t.credit.Load()) }

// joinNode is Tracker.Join in s.
func (s *shard) joinNode(n node.Node) {
	k, ok := s.index[n.ID]
	if !ok {
		at := n.LastHeartbeat
		if at.IsZero() {
			at = s.t.cfg.now()
		}
		s.join(n.ID, n.Region, 0, at)
		return
	}
	if h := &s.hot[k]; s.regions[h.region] != n.Region {
		s.unrefRegion(h.region)
		h.region = s.refRegion(n.Region)
	}
	if !n.LastHeartbeat.IsZero() {
		s.beat(k, s.hot[k].epoch, n.LastHeartbeat)
	}
}

func (s *shard) join(id, region string, epoch uint64, at time.Time) {
	cfg := &s.t.cfg
	k := int32(len(s.hot))
	due := at.Add(cfg.suspect).UnixNano()
	s.hot = append(s.hot, hotNode{last: at, epoch: epoch, credit: s.credit(), due: due, region: s.refRegion(region), state: Alive})
	s.cold = append(s.cold, tnode{id: id, since: at})
	nd := &s.cold[k]
	if cfg.phi > 0 {
		nd.intervals = phiWindow{vals: make([]float64, cfg.phiWindow)}
	}
	nd.flap.record(true, *cfg)
	s.hot[k].steadyAt = s.steadyAt(at)
	s.index[id] = k
	s.deadlines.push(k, due)
	s.t.emit(Event{Kind: EventJoin, NodeID: id, Region: region, State: Alive, At: at})
}

func (s *shard) beat(k int32, epoch uint64, at time.Time) {
	h := &s.hot[k]
	phiReady := false
	switch {
	case epoch < h.epoch:
		return // a previous incarnation
	case epoch > h.epoch:
		h.epoch = epoch
		if s.t.cfg.phi > 0 {
			s.cold[k].intervals.reset()
		}
	case !at.After(h.last):
		return // reordered or duplicated
	case s.t.cfg.phi > 0:
		w := &s.cold[k].intervals
		w.add(at.Sub(h.last))
		phiReady = w.n == 2
	}
	h.last, h.credit = at, s.credit()
	if phiReady && h.state == Alive {
		// Phi-accrual can judge the node from now on, but its deadline
		// still comes from SuspectAfter (set at join or restart): bring it
		// forward once, so phi is used from the third heartbeat on.
		if due := s.nextDeadline(k, at.UnixNano(), 0); due < h.due {
			s.setDue(k, due)
		}
	}
	if h.state != Alive {
		s.transition(k, Alive, at)
		// A suspect or dead node waits in the heap for a later threshold
		// than an alive one: bring its deadline forward. This is the only
		// heap work a heartbeat does, besides phi's once above.
		s.setDue(k, s.nextDeadline(k, at.UnixNano(), 0))
	} else if at.UnixNano() >= h.steadyAt {
		// A steady node records a good result now and then, so that old
		// transitions leave the flap window.
		s.result(k, true, at)
	}
}

// setDue changes the deadline of slot k.
func (s *shard) setDue(k int32, due int64) {
	s.hot[k].due = due
	s.deadlines.set(k, due)
}

// steadyAt is when a steady heartbeat after a result at at records the
// next one.
func (s *shard) steadyAt(at time.Time) int64 { return at.UnixNano() + int64(s.t.cfg.suspect/2) }

// transition moves slot k to state st at at, with its events.
func (s *shard) transition(k int32, st State, at time.Time) {
	h, nd := &s.hot[k], &s.cold[k]
	prev := h.state
	h.state, nd.since = st, at
	nd.trans++
	kind := EventRecovered
	switch st {
	case Suspect:
		kind = EventSuspect
	case Dead:
		kind = EventDead
	}
	if prev == Alive {
		nd.lostAt = at
	}
	s.t.emit(Event{Kind: kind, NodeID: nd.id, Region: s.regions[h.region], State: st, Previous: prev, At: at})
	s.result(k, st == Alive, at)
}

// result records one health result of slot k for flap detection, with the
// flap-start and flap-stop events it causes.
func (s *shard) result(k int32, ok bool, at time.Time) {
	h, nd := &s.hot[k], &s.cold[k]
	was, now := nd.flap.record(ok, s.t.cfg)
	h.flapping, h.steadyAt = now, s.steadyAt(at)
	switch {
	case now && !was:
		s.t.emit(Event{Kind: EventFlapStart, NodeID: nd.id, Region: s.regions[h.region], State: h.state, At: at})
	case was && !now:
		s.t.emit(Event{Kind: EventFlapStop, NodeID: nd.id, Region: s.regions[h.region], State: h.state, At: at})
	}
}

// sweep is Tracker.Sweep in s: it appends s's transitions to changed.
func (s *shard) sweep(now time.Time, changed []Transition) []Transition {
	s.mu.Lock()
	defer s.mu.Unlock()
	nowNs := now.UnixNano()
	h := &s.deadlines
	// Past this many due nodes, one pass over every slot and an O(n)
	// rebuild of the heap is cheaper than a sift per node, so a sweep
	// costs O(min(k log n, n)) for k due nodes.
	bulk := max(len(h.e)/16, 256)
	for k := 0; len(h.e) > 0 && h.e[0].at <= nowNs; k++ {
		if k == bulk {
			for k := range s.hot {
				if s.hot[k].due <= nowNs {
					changed = s.visit(int32(k), now, nowNs, changed)
				}
			}
			h.rebuild(s.hot)
			break
		}
		k := h.e[0].slot
		changed = s.visit(k, now, nowNs, changed)
		h.set(k, s.hot[k].due)
	}
	return changed
}

// visit judges slot k, due at now, and sets its next deadline in hot (the
// caller re-files it in the heap).
func (s *shard) visit(k int32, now time.Time, nowNs int64, changed []Transition) []Transition {
	h := &s.hot[k]
	silent := now.Sub(h.last) - (s.credit() - h.credit)
	next := h.state
	switch {
	case silent >= s.t.cfg.dead:
		next = Dead
	case h.state == Alive && s.suspicious(k, silent):
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
		changed = append(changed, Transition{NodeID: s.cold[k].id, Region: s.regions[h.region], From: h.state, To: next, At: now})
		s.transition(k, next, now)
	case h.state != Alive:
		s.result(k, false, now) // still down
	}
	h.due = s.nextDeadline(k, nowNs, silent)
	return changed
}

// suspicious reports whether slot k, silent for that long, is suspect.
func (s *shard) suspicious(k int32, silent time.Duration) bool {
	cfg := &s.t.cfg
	if cfg.phi <= 0 || s.cold[k].intervals.n < 2 {
		return silent >= cfg.suspect
	}
	nd := &s.cold[k]
	nd.phi = nd.intervals.phi(silent, cfg.minStd)
	return nd.phi >= cfg.phi
}

// nextDeadline is when slot k, silent for that long at now (Unix ns),
// must next be looked at, in Unix ns: the moment its silence reaches the
// next threshold, given what is known now. Later heartbeats only push the
// real moment further, and the sweep re-checks lazily. It works from the
// silence, which a sweep measures once (on the monotonic clock when the
// times carry it), so a sweep over many nodes does little time arithmetic.
func (s *shard) nextDeadline(k int32, now int64, silent time.Duration) int64 {
	cfg := &s.t.cfg
	switch s.hot[k].state {
	case Alive:
		if cfg.phi > 0 && s.cold[k].intervals.n >= 2 {
			if d := s.cold[k].intervals.suspectAfter(cfg.phi, cfg.minStd); d < cfg.dead {
				if d > silent {
					return now + int64(d-silent)
				}
				return now + int64(cfg.sweep)
			}
			return now + int64(cfg.dead-silent)
		}
		if silent < cfg.suspect {
			return now + int64(cfg.suspect-silent)
		}
		return now + int64(cfg.dead-silent)
	case Suspect:
		return now + int64(cfg.dead-silent)
	}
	// Dead nodes wait for a heartbeat, which recovers them without the heap;
	// look again only after a long while, to keep the heap small and sound.
	return now + int64(cfg.dead)
}

// refRegion returns the slot of region name, counting one more node in it.
func (s *shard) refRegion(name string) int32 {
	r, ok := s.regionIdx[name]
	if !ok {
		if n := len(s.freeRegions); n > 0 {
			r = s.freeRegions[n-1]
			s.freeRegions = s.freeRegions[:n-1]
			s.regions[r] = name
		} else {
			r = int32(len(s.regions))
			s.regions = append(s.regions, name)
			s.regionRefs = append(s.regionRefs, 0)
		}
		s.regionIdx[name] = r
	}
	s.regionRefs[r]++
	return r
}

// unrefRegion counts one node less in region slot r, and frees the slot
// when it was the last.
func (s *shard) unrefRegion(r int32) {
	if s.regionRefs[r]--; s.regionRefs[r] == 0 {
		delete(s.regionIdx, s.regions[r])
		s.regions[r] = ""
		s.freeRegions = append(s.freeRegions, r)
	}
}

// forget is Tracker.Forget in s.
func (s *shard) forget(id string) bool {
	k, ok := s.index[id]
	if !ok {
		return false
	}
	s.deadlines.remove(k)
	s.unrefRegion(s.hot[k].region)
	last := int32(len(s.hot) - 1)
	if k != last {
		s.hot[k], s.cold[k] = s.hot[last], s.cold[last]
		s.index[s.cold[k].id] = k
		s.deadlines.renumber(last, k)
	}
	s.hot[last], s.cold[last] = hotNode{}, tnode{}
	s.hot, s.cold, s.deadlines.pos = s.hot[:last], s.cold[:last], s.deadlines.pos[:last]
	delete(s.index, id)
	if cap(s.hot) > 1024 && len(s.hot) < cap(s.hot)/4 {
		// Give back what a shrunk fleet left.
		s.hot, s.cold = slices.Clip(slices.Clone(s.hot)), slices.Clip(slices.Clone(s.cold))
	}
	return true
}

func (s *shard) view(k int32) NodeState {
	h, nd := &s.hot[k], &s.cold[k]
	return NodeState{
		ID: nd.id, Region: s.regions[h.region], State: h.state, LastHeartbeat: h.last, Epoch: h.epoch,
		Since: nd.since, Transitions: nd.trans, Flapping: h.flapping, Phi: nd.phi,
	}
}
