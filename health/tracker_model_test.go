package health

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/edgeinfra/edgeinfra/node"
)

// modelNode is a tracked node as the plain model of the Tracker sees it.
type modelNode struct {
	region string
	last   time.Time
	state  State
	trans  uint64
}

// checkTrackerInvariants checks the tracker's internal bookkeeping: the
// index, the dense slots, the deadline heap and the region table agree.
func checkTrackerInvariants(t *testing.T, tr *Tracker) {
	t.Helper()
	n := len(tr.hot)
	if len(tr.cold) != n || len(tr.index) != n || len(tr.deadlines.e) != n || len(tr.deadlines.pos) != n {
		t.Fatalf("sizes: hot %d cold %d index %d heap %d pos %d", n, len(tr.cold), len(tr.index), len(tr.deadlines.e), len(tr.deadlines.pos))
	}
	refs := make([]int32, len(tr.regions))
	for k := range n {
		if tr.index[tr.cold[k].id] != int32(k) {
			t.Fatalf("index[%s] = %d, want %d", tr.cold[k].id, tr.index[tr.cold[k].id], k)
		}
		i := tr.deadlines.pos[k]
		if e := tr.deadlines.e[i]; e.slot != int32(k) || e.at != tr.hot[k].due {
			t.Fatalf("slot %d: heap entry %+v, due %d", k, e, tr.hot[k].due)
		}
		refs[tr.hot[k].region]++
	}
	for i := 1; i < n; i++ {
		if tr.deadlines.less(i, (i-1)/2) {
			t.Fatalf("heap order broken at %d", i)
		}
	}
	for s, name := range tr.regions {
		if refs[s] != tr.regionRefs[s] {
			t.Fatalf("region %q: %d nodes, %d refs", name, refs[s], tr.regionRefs[s])
		}
		if refs[s] > 0 && tr.regionIdx[name] != int32(s) {
			t.Fatalf("regionIdx[%q] = %d, want %d", name, tr.regionIdx[name], s)
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
	tr := NewTracker(TrackerOptions{SuspectAfter: suspect, DeadAfter: dead, StallThreshold: -1, Now: func() time.Time { return now }})
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
	tr := NewTracker(TrackerOptions{Now: fixedNow})
	tr.Join(node.Node{ID: "a", Region: "eu", LastHeartbeat: t0})
	tr.Join(node.Node{ID: "b", Region: "us", LastHeartbeat: t0})
	tr.Join(node.Node{ID: "c", Region: "us", LastHeartbeat: t0})
	tr.Forget("a")                            // eu has no node left
	tr.Join(node.Node{ID: "c", Region: "ap"}) // takes eu's slot
	tr.Join(node.Node{ID: "d", Region: "sa", LastHeartbeat: t0})
	checkTrackerInvariants(t, tr)
	if len(tr.regions) != 3 {
		t.Fatalf("regions table %q, want 3 slots (eu's reused)", tr.regions)
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

// TestRecordSizes keeps the records a heartbeat, a sweep and a cluster
// check touch at one cache line each: the speed of Heartbeat at 100k
// nodes, of a mass expiry and of CheckCluster depends on it.
func TestRecordSizes(t *testing.T) {
	if s := unsafe.Sizeof(hotNode{}); s != 64 {
		t.Errorf("hotNode is %d bytes, want 64", s)
	}
	if s := unsafe.Sizeof(entry{}); s != 64 {
		t.Errorf("history entry is %d bytes, want 64", s)
	}
}
