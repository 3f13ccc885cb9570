package health

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// modelNode is a tracked node as the plain model of the Tracker sees it.
type modelNode struct {
	region string
	last   time.Time
	state  State
	trans  uint64
}

// checkTrackerInvariants checks the tracker's internal bookkeeping: each
// node is in the shard its ID hashes to, and in each shard the index, the
// dense slots, the deadline heap and the region table agree.
func checkTrackerInvariants(t *testing.T, tr *Tracker) {
	t.Helper()
	for i := range tr.shards {
		s := &tr.shards[i]
		n := len(s.hot)
		if len(s.cold) != n || len(s.index) != n || len(s.deadlines.e) != n || len(s.deadlines.pos) != n {
			t.Fatalf("shard %d sizes: hot %d cold %d index %d heap %d pos %d", i, n, len(s.cold), len(s.index), len(s.deadlines.e), len(s.deadlines.pos))
		}
		refs := make([]int32, len(s.regions))
		for k := range n {
			id := s.cold[k].id
			if s.index[id] != int32(k) || tr.shard(id) != s {
				t.Fatalf("shard %d: node %s in slot %d, index says %d, hash says shard %p", i, id, k, s.index[id], tr.shard(id))
			}
			if e := s.deadlines.e[s.deadlines.pos[k]]; e.slot != int32(k) || e.at != s.hot[k].due {
				t.Fatalf("shard %d slot %d: heap entry %+v, due %d", i, k, e, s.hot[k].due)
			}
			refs[s.hot[k].region]++
		}
		for j := 1; j < n; j++ {
			if s.deadlines.less(j, (j-1)/2) {
				t.Fatalf("shard %d: heap order broken at %d", i, j)
			}
		}
		for r, name := range s.regions {
			if refs[r] != s.regionRefs[r] {
				t.Fatalf("shard %d region %q: %d nodes, %d refs", i, name, refs[r], s.regionRefs[r])
			}
			if refs[r] > 0 && s.regionIdx[name] != int32(r) {
				t.Fatalf("shard %d: regionIdx[%q] = %d, want %d", i, name, s.regionIdx[name], r)
			}
		}
	}
}

// TestTrackerMatchesFullScan drives a tracker and a plain model (every
// sweep walks every node) with the same random joins, heartbeats,
// forgets and sweeps, and checks that the lazy deadlines judge exactly as
// the full scan does: the same transitions, states and report. Some
// sweeps find most of the fleet due, which takes the linear-pass path.
func TestTrackerMatchesFullScan(t *testing.T) {
	const suspect, dead = 2 * time.Second, 5 * time.Second
	rng := rand.New(rand.NewPCG(3, 4))
	now := t0
	tr := newTracker(TrackerOptions{SuspectAfter: suspect, DeadAfter: dead, StallThreshold: -1, Now: func() time.Time { return now }}, 4)
	model := map[string]*modelNode{}
	ids := make([]string, 3000)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%04d", i)
	}
	for step := range 400 {
		now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		quiet := step%100 >= 80 // a partition: nobody beats, so most become due together
		for range rng.IntN(300) {
			id := ids[rng.IntN(len(ids))]
			switch op := rng.IntN(20); {
			case op == 0:
				if _, had := model[id]; tr.Forget(id) != had {
					t.Fatalf("Forget(%s) = %v, want %v", id, !had, had)
				}
				delete(model, id)
			case op == 1:
				region := fmt.Sprintf("r%d", rng.IntN(6))
				tr.Join(node.Node{ID: id, Region: region})
				if m := model[id]; m != nil {
					m.region = region
				} else {
					model[id] = &modelNode{region: region, last: now}
				}
			case !quiet:
				at := now.Add(-time.Duration(rng.IntN(300)) * time.Millisecond) // some arrive reordered
				tr.Heartbeat(id, at)
				switch m := model[id]; {
				case m == nil:
					model[id] = &modelNode{last: at}
				case at.After(m.last):
					m.last = at
					if m.state != Alive {
						m.state = Alive
						m.trans++
					}
				}
			}
		}
		got := tr.Sweep(now)
		var want []Transition
		for id, m := range model {
			silent := now.Sub(m.last)
			next := m.state
			switch {
			case silent >= dead:
				next = Dead
			case m.state == Alive && silent >= suspect:
				next = Suspect
			}
			if next > m.state {
				want = append(want, Transition{NodeID: id, Region: m.region, From: m.state, To: next, At: now})
				m.state = next
				m.trans++
			}
		}
		byID := func(a, b Transition) int { return cmpString(a.NodeID, b.NodeID) }
		slices.SortFunc(got, byID)
		slices.SortFunc(want, byID)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: Sweep made %d transitions, the full scan %d:\n%v\n%v", step, len(got), len(want), got, want)
		}
		checkTrackerInvariants(t, tr)
	}
	rep := tr.Report()
	counts := map[string]*RegionReport{}
	for id, m := range model {
		s, ok := tr.Node(id)
		if !ok || s.State != m.state || s.Region != m.region || !s.LastHeartbeat.Equal(m.last) || s.Transitions != m.trans {
			t.Fatalf("Node(%s) = %+v, %v; model %+v", id, s, ok, *m)
		}
		c := counts[m.region]
		if c == nil {
			c = &RegionReport{}
			counts[m.region] = c
		}
		c.Total++
		switch m.state {
		case Alive:
			c.Alive++
		case Suspect:
			c.Suspect++
		case Dead:
			c.Dead++
		}
	}
	if rep.Total != len(model) || len(rep.Regions) != len(counts) {
		t.Fatalf("Report: %d nodes in %d regions, want %d in %d", rep.Total, len(rep.Regions), len(model), len(counts))
	}
	for name, c := range counts {
		r := rep.Regions[name]
		if r == nil || r.Total != c.Total || r.Alive != c.Alive || r.Suspect != c.Suspect || r.Dead != c.Dead {
			t.Fatalf("Report region %q = %+v, want %+v", name, r, c)
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestTrackerPhiFromTheThirdHeartbeat checks that phi-accrual judges a new
// node as soon as it has two intervals, not only after SuspectAfter: a
// node that beat every second three times and went silent is suspect
// about two seconds later, long before the fixed 30s.
func TestTrackerPhiFromTheThirdHeartbeat(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			tr := NewTracker(TrackerOptions{SuspectAfter: 30 * time.Second, DeadAfter: time.Minute, PhiThreshold: 8, MinPhiStdDev: 100 * time.Millisecond, StallThreshold: -1})
			at := t0
			epoch := uint64(1)
			if restart { // an old incarnation with slow beats, then a restart
				tr.HeartbeatEpoch("n", epoch, at)
				for range 5 {
					at = at.Add(10 * time.Second)
					tr.HeartbeatEpoch("n", epoch, at)
					tr.Sweep(at)
				}
				epoch++
			}
			for range 3 {
				tr.HeartbeatEpoch("n", epoch, at)
				tr.Sweep(at)
				at = at.Add(time.Second)
			}
			last := at.Add(-time.Second)
			var suspectAt time.Time
			for now := last; now.Before(last.Add(30 * time.Second)); now = now.Add(100 * time.Millisecond) {
				if len(tr.Sweep(now)) > 0 {
					suspectAt = now
					break
				}
			}
			if suspectAt.IsZero() || suspectAt.Sub(last) > 3*time.Second || suspectAt.Sub(last) < 1100*time.Millisecond {
				t.Fatalf("suspect %v after the last heartbeat, want between 1.1s and 3s", suspectAt.Sub(last))
			}
		})
	}
}

// TestTrackerRegionSlotsReused checks that a region whose last node left
// or moved frees its slot for the next new region, and that reports and
// views keep the right names throughout.
func TestTrackerRegionSlotsReused(t *testing.T) {
	tr := newTracker(TrackerOptions{Now: fixedNow}, 1) // one shard, to see its region table
	tr.Join(node.Node{ID: "a", Region: "eu", LastHeartbeat: t0})
	tr.Join(node.Node{ID: "b", Region: "us", LastHeartbeat: t0})
	tr.Join(node.Node{ID: "c", Region: "us", LastHeartbeat: t0})
	tr.Forget("a")                            // eu has no node left
	tr.Join(node.Node{ID: "c", Region: "ap"}) // takes eu's slot
	tr.Join(node.Node{ID: "d", Region: "sa", LastHeartbeat: t0})
	checkTrackerInvariants(t, tr)
	if r := tr.shards[0].regions; len(r) != 3 {
		t.Fatalf("regions table %q, want 3 slots (eu's reused)", r)
	}
	rep := tr.Report()
	names := make([]string, 0, len(rep.Regions))
	for name, r := range rep.Regions {
		if r.Total != 1 {
			t.Errorf("region %s: %d nodes, want 1", name, r.Total)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ap", "sa", "us"}) || rep.Total != 3 {
		t.Fatalf("report regions %v, total %d; want [ap sa us], 3", names, rep.Total)
	}
	if s, _ := tr.Node("c"); s.Region != "ap" {
		t.Fatalf("Node(c).Region = %q, want ap", s.Region)
	}
}
