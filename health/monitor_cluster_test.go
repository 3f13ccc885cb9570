package health

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// refMonitor is the contract of Monitor written plainly: a list of checks
// per node, walked for every answer. TestCheckClusterMatchesReference
// holds the fast Monitor to it.
type refMonitor struct {
	timeout time.Duration
	size    int
	hist    map[string][]Check
}

func (r *refMonitor) check(n node.Node, now time.Time) Check {
	c := Check{NodeID: n.ID, Status: n.Status, CheckedAt: now, Healthy: true}
	if !n.LastHeartbeat.IsZero() && now.Sub(n.LastHeartbeat) > 0 {
		c.HeartbeatAge = now.Sub(n.LastHeartbeat)
	}
	switch {
	case !n.Status.Serving() && n.Status.Valid():
		c.Healthy, c.Reason = false, "status "+string(n.Status)
	case !n.Status.Serving():
		c.Healthy, c.Reason = false, "status unknown"
	case n.LastHeartbeat.IsZero():
		c.Healthy, c.Reason = false, ReasonNoHeartbeat
	case c.HeartbeatAge > r.timeout:
		c.Healthy, c.Reason = false, ReasonHeartbeatTimeout
	}
	h := append(r.hist[n.ID], c)
	if len(h) > r.size {
		h = h[len(h)-r.size:]
	}
	r.hist[n.ID] = h
	return c
}

func (r *refMonitor) flapping(id string, window int) bool {
	h := r.hist[id]
	if window > 0 && window < len(h) {
		h = h[len(h)-window:]
	}
	changes := 0
	for i := 1; i < len(h); i++ {
		if h[i].Healthy != h[i-1].Healthy {
			changes++
		}
	}
	return changes >= flapTransitions
}

func (r *refMonitor) cluster(nodes []node.Node, now time.Time) ClusterReport {
	rep := ClusterReport{Total: len(nodes), CheckedAt: now, UnhealthyNodes: []string{}, FlappingNodes: []string{}, Regions: map[string]*RegionCounts{}}
	for _, n := range nodes {
		c := r.check(n, now)
		reg := rep.Regions[n.Region]
		if reg == nil {
			reg = &RegionCounts{}
			rep.Regions[n.Region] = reg
		}
		reg.Total++
		if c.Healthy {
			rep.Healthy++
			reg.Healthy++
		} else {
			rep.Unhealthy++
			reg.Unhealthy++
			if !slices.Contains(rep.UnhealthyNodes, n.ID) {
				rep.UnhealthyNodes = append(rep.UnhealthyNodes, n.ID)
			}
		}
		if r.flapping(n.ID, clusterFlapWindow) && !slices.Contains(rep.FlappingNodes, n.ID) {
			rep.FlappingNodes = append(rep.FlappingNodes, n.ID)
		}
	}
	if rep.Total > 0 {
		rep.HealthyPercent = 100 * float64(rep.Healthy) / float64(rep.Total)
	}
	slices.Sort(rep.UnhealthyNodes)
	slices.Sort(rep.FlappingNodes)
	return rep
}

// TestCheckClusterMatchesReference checks repeated CheckCluster calls over
// a changing fleet (the same order, shuffled, grown, shrunk, with
// duplicates, moved regions, Forget and CheckNode in between) against
// refMonitor, report by report and history by history. The fleet changes
// exercise the order and region hints that let a repeated call skip the
// map lookups.
func TestCheckClusterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	m := NewMonitor(Options{HistorySize: 12, HeartbeatTimeout: 5 * time.Second, Now: func() time.Time { return now }})
	ref := &refMonitor{timeout: 5 * time.Second, size: 12, hist: map[string][]Check{}}
	statuses := []node.Status{node.Online, node.Online, node.Online, node.Degraded, node.Offline, node.Maintenance, "exploded"}
	var fleet []node.Node
	for i := range 600 {
		fleet = append(fleet, node.Node{ID: fmt.Sprintf("n%03d", i), Region: fmt.Sprintf("r%d", i%5)})
	}
	for round := range 120 {
		now = now.Add(time.Second)
		switch op := round % 8; {
		case op == 0 && round > 0: // one node joins in the middle, another leaves
			at := rng.IntN(len(fleet))
			fleet = slices.Insert(fleet, at, node.Node{ID: fmt.Sprintf("j%d", round), Region: "r1"})
			fleet = slices.Delete(fleet, at/2, at/2+1)
		case op == 1:
			rng.Shuffle(len(fleet), func(i, j int) { fleet[i], fleet[j] = fleet[j], fleet[i] })
		case op == 2 && len(fleet) > 100:
			fleet = fleet[:len(fleet)-rng.IntN(100)]
		case op == 3:
			for range rng.IntN(50) {
				fleet = append(fleet, node.Node{ID: fmt.Sprintf("x%d", rng.IntN(2000)), Region: fmt.Sprintf("r%d", rng.IntN(200))})
			}
		case op == 4:
			fleet = append(fleet, fleet[rng.IntN(len(fleet))]) // a node listed twice
		case op == 5:
			for range 20 {
				id := fleet[rng.IntN(len(fleet))].ID
				m.Forget(id)
				delete(ref.hist, id)
			}
		case op == 6:
			for range 10 {
				fleet[rng.IntN(len(fleet))].Region = fmt.Sprintf("moved%d", rng.IntN(3))
			}
		case op == 7:
			n := fleet[rng.IntN(len(fleet))]
			c := m.CheckNode(n)
			c.Latency = 0
			if want := ref.check(n, now); c != want {
				t.Fatalf("round %d: CheckNode = %+v, want %+v", round, c, want)
			}
		}
		for i := range fleet {
			n := &fleet[i]
			n.Status = statuses[rng.IntN(len(statuses))]
			n.LastHeartbeat = now.Add(-time.Duration(rng.IntN(8)) * time.Second)
			if rng.IntN(20) == 0 {
				n.LastHeartbeat = time.Time{}
			}
		}
		got, want := m.CheckCluster(fleet), ref.cluster(fleet, now)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: CheckCluster =\n%+v\nwant\n%+v", round, got, want)
		}
		if s := m.Summary(); s.NodesTracked != len(ref.hist) {
			t.Fatalf("round %d: %d nodes tracked, want %d", round, s.NodesTracked, len(ref.hist))
		}
	}
	healthy := 0
	for id, want := range ref.hist {
		got := m.History(id, 0)
		for i := range got {
			if got[i].Latency < 0 {
				t.Fatalf("History(%s)[%d].Latency = %v", id, i, got[i].Latency)
			}
			got[i].Latency = 0
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("History(%s) =\n%+v\nwant\n%+v", id, got, want)
		}
		for _, w := range []int{0, 3, 10} {
			if g, r := m.DetectFlapping(id, w), ref.flapping(id, w); g != r {
				t.Fatalf("DetectFlapping(%s, %d) = %v, want %v", id, w, g, r)
			}
		}
		if want[len(want)-1].Healthy {
			healthy++
		}
	}
	if s := m.Summary(); s.Healthy != healthy || s.Unhealthy != len(ref.hist)-healthy {
		t.Fatalf("Summary = %+v, want %d healthy of %d", s, healthy, len(ref.hist))
	}
}

// TestCheckClusterDoesNotAllocatePerNode checks that a repeated check of
// the same fleet allocates only the report, whatever the fleet's size.
func TestCheckClusterDoesNotAllocatePerNode(t *testing.T) {
	for _, n := range []int{100, 10_000} {
		m := NewMonitor(Options{HistorySize: 4, Now: fixedNow})
		fleet := make([]node.Node, n)
		for i := range fleet {
			fleet[i] = node.Node{ID: fmt.Sprint(i), Region: fmt.Sprintf("r%d", i%8), Status: node.Online, LastHeartbeat: t0}
		}
		for range 4 { // histories reach their size
			m.CheckCluster(fleet)
		}
		if a := testing.AllocsPerRun(5, func() { m.CheckCluster(fleet) }); a > 20 {
			t.Errorf("%d nodes: CheckCluster allocates %v times, want a handful for the report", n, a)
		}
	}
}

// TestCheckClusterFollowsShiftedFleet checks the cost side of the order
// hint, by counting the map lookups CheckCluster falls back to: none for
// the same fleet, a couple for a node joining in the middle of a sorted
// fleet (which shifts every later node) or leaving it, and one per node
// for a shuffled fleet.
func TestCheckClusterFollowsShiftedFleet(t *testing.T) {
	fleet := make([]node.Node, 1000)
	for i := range fleet {
		fleet[i] = node.Node{ID: fmt.Sprintf("n%04d", 2*i), Status: node.Online, LastHeartbeat: t0}
	}
	m := NewMonitor(Options{Now: fixedNow})
	step := func(name string, nodes []node.Node, maxLookups uint64) {
		t.Helper()
		before := m.lookups
		m.CheckCluster(nodes)
		if n := m.lookups - before; n > maxLookups {
			t.Errorf("%s: %d map lookups, want at most %d", name, n, maxLookups)
		}
	}
	step("first check", fleet, 1000)
	step("same fleet", fleet, 0)
	joined := slices.Insert(slices.Clone(fleet), 400, node.Node{ID: "n0799x", Status: node.Online, LastHeartbeat: t0})
	step("a node joins in the middle", joined, 2)
	step("same fleet again", joined, 0)
	left := slices.Delete(slices.Clone(joined), 700, 701)
	step("a node leaves", left, 1)
	several := slices.Delete(slices.Clone(left), 100, 101)
	several = slices.Delete(several, 500, 501)
	several = slices.Insert(several, 900, node.Node{ID: "n1799x", Status: node.Online, LastHeartbeat: t0})
	step("two leave, one joins", several, 4)
	shuffled := slices.Clone(several)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	before := m.lookups
	m.CheckCluster(shuffled)
	if n := m.lookups - before; n < 900 {
		t.Errorf("shuffled fleet: %d map lookups, want about one per node (the test counts what it should)", n)
	}
}
