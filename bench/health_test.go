package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/node"
)

var hbEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func trackerWith(n int, opts health.TrackerOptions) (*health.Tracker, []string) {
	tr := health.NewTracker(opts)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%06d", i)
		tr.Heartbeat(ids[i], hbEpoch)
	}
	return tr, ids
}

// BenchmarkHealthHeartbeat is the cost of one heartbeat of a known node in
// a fleet of 100k (run with -cpu 1 for the single-core rate).
func BenchmarkHealthHeartbeat(b *testing.B) {
	tr, ids := trackerWith(100_000, health.TrackerOptions{SuspectAfter: time.Minute})
	b.ReportAllocs()
	at := hbEpoch
	i := 0
	for b.Loop() {
		at = at.Add(time.Microsecond)
		tr.Heartbeat(ids[i], at)
		i++
		if i == len(ids) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkHealthHeartbeatPhi is the same with phi-accrual on.
func BenchmarkHealthHeartbeatPhi(b *testing.B) {
	tr, ids := trackerWith(100_000, health.TrackerOptions{SuspectAfter: time.Minute, PhiThreshold: 8})
	b.ReportAllocs()
	at := hbEpoch
	i := 0
	for b.Loop() {
		at = at.Add(time.Microsecond)
		tr.Heartbeat(ids[i], at)
		i++
		if i == len(ids) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkHealthSweep100k times one sweep over 100k nodes in the worst
// case for a deadline structure: every node's deadline has passed at once
// (all joined together, all heartbeat since), so each is looked at.
func BenchmarkHealthSweep100k(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fresh bool // heartbeats arrived since: each due node is re-filed
	}{{"all-due-heartbeating", true}, {"all-due-silent", false}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				tr, ids := trackerWith(100_000, health.TrackerOptions{SuspectAfter: 10 * time.Second, StallThreshold: -1})
				if tc.fresh {
					for _, id := range ids {
						tr.Heartbeat(id, hbEpoch.Add(9*time.Second))
					}
				}
				b.StartTimer()
				tr.Sweep(hbEpoch.Add(10 * time.Second))
			}
		})
	}
}

// BenchmarkHealthSweepSteady is the sweep of a steady fleet of 100k whose
// heartbeats are spread over time, swept every 100ms: the usual case.
func BenchmarkHealthSweepSteady(b *testing.B) {
	tr := health.NewTracker(health.TrackerOptions{SuspectAfter: 10 * time.Second, StallThreshold: -1})
	const n = 100_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%06d", i)
		tr.Heartbeat(ids[i], hbEpoch.Add(time.Duration(i)*time.Second/n))
	}
	now := hbEpoch
	next := 0 // heartbeats arrive every second per node, spread evenly
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		now = now.Add(100 * time.Millisecond)
		for range n / 10 {
			tr.Heartbeat(ids[next%n], now)
			next++
		}
		b.StartTimer()
		tr.Sweep(now)
	}
}

// BenchmarkHealthCheckCluster100k is Monitor.CheckCluster over 100k nodes
// in 8 regions, every history full (HistorySize checks made before timing),
// so each check overwrites the oldest. "same-order" checks the same slice
// every time, as a hub does; "reordered" alternates between two orders, so
// the previous call's order never applies and every node costs a map
// lookup; "join-and-leave" alternates between the fleet and the fleet
// with one node more at a third and one less at two thirds (a hub keeps
// its fleet sorted by ID, so a join shifts every later node); "10pct-
// unhealthy" has every tenth node offline.
func BenchmarkHealthCheckCluster100k(b *testing.B) {
	fleet := func() []node.Node {
		nodes := make([]node.Node, 100_000)
		for i := range nodes {
			nodes[i] = node.Node{ID: fmt.Sprintf("node-%06d", i), Region: fmt.Sprintf("r%d", i%8), Status: node.Online, LastHeartbeat: time.Now()}
		}
		return nodes
	}
	for _, tc := range []struct {
		name      string
		reordered bool
		churn     bool
		offline   bool
	}{{"same-order", false, false, false}, {"reordered", true, false, false}, {"join-and-leave", false, true, false}, {"10pct-unhealthy", false, false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			m := health.NewMonitor(health.Options{HistorySize: 10})
			nodes := fleet()
			if tc.offline {
				for i := 0; i < len(nodes); i += 10 {
					nodes[i].Status = node.Offline
				}
			}
			orders := [][]node.Node{nodes}
			if tc.reordered {
				other := slices.Clone(nodes)
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(other), func(i, j int) { other[i], other[j] = other[j], other[i] })
				orders = append(orders, other)
			}
			if tc.churn {
				other := slices.Insert(slices.Clone(nodes), len(nodes)/3, node.Node{ID: "node-joined", Region: "r0", Status: node.Online, LastHeartbeat: time.Now()})
				other = slices.Delete(other, 2*len(nodes)/3, 2*len(nodes)/3+1)
				orders = append(orders, other)
			}
			for i := range 10 { // histories are full
				m.CheckCluster(orders[i%len(orders)])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.CheckCluster(orders[i%len(orders)])
				i++
			}
		})
	}
}

// BenchmarkHealthReport100k is Tracker.Report over 100k nodes in 8 regions.
func BenchmarkHealthReport100k(b *testing.B) {
	tr := health.NewTracker(health.TrackerOptions{})
	for i := range 100_000 {
		tr.Join(node.Node{ID: fmt.Sprintf("node-%06d", i), Region: fmt.Sprintf("r%d", i%8), LastHeartbeat: hbEpoch})
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Report()
	}
}

// BenchmarkHealthHeartbeat1k is the heartbeat of a fleet of 1k nodes, whose
// state fits in the CPU caches: the difference with the 100k case is
// memory latency, not work.
func BenchmarkHealthHeartbeat1k(b *testing.B) {
	tr, ids := trackerWith(1_000, health.TrackerOptions{SuspectAfter: time.Minute})
	b.ReportAllocs()
	at := hbEpoch
	i := 0
	for b.Loop() {
		at = at.Add(time.Microsecond)
		tr.Heartbeat(ids[i], at)
		i++
		if i == len(ids) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// BenchmarkHealthHeartbeatFloor is the least any tracker keyed by string
// must do per heartbeat over 100k nodes: lock a mutex, look the node up in
// a map and store a time. It is the reference for the ratios in
// results/health.md.
func BenchmarkHealthHeartbeatFloor(b *testing.B) {
	type rec struct{ last time.Time }
	var mu sync.Mutex
	m := map[string]*rec{}
	ids := make([]string, 100_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%06d", i)
		m[ids[i]] = &rec{last: hbEpoch}
	}
	b.ReportAllocs()
	at := hbEpoch
	i := 0
	for b.Loop() {
		at = at.Add(time.Microsecond)
		mu.Lock()
		if r := m[ids[i]]; r != nil && at.After(r.last) {
			r.last = at
		}
		mu.Unlock()
		i++
		if i == len(ids) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
}

// shuffled returns ids in a fixed random order: heartbeats of a real fleet
// do not arrive in the order the nodes joined, which is the order their
// records were allocated in.
func shuffled(ids []string) []string {
	out := slices.Clone(ids)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// floorFleet is the reference of BenchmarkHealthHeartbeatFloor: a mutex and
// a map[string]*rec over 100k nodes.
type floorFleet struct {
	mu sync.Mutex
	m  map[string]*struct{ last time.Time }
}

func newFloorFleet(ids []string) *floorFleet {
	f := &floorFleet{m: map[string]*struct{ last time.Time }{}}
	for _, id := range ids {
		f.m[id] = &struct{ last time.Time }{hbEpoch}
	}
	return f
}

func (f *floorFleet) beat(id string, at time.Time) {
	f.mu.Lock()
	if r := f.m[id]; r != nil && at.After(r.last) {
		r.last = at
	}
	f.mu.Unlock()
}

// floor64Fleet is floorFleet with a 64-byte record per node, the size of
// the record a Tracker's heartbeat touches: the difference between the two
// floors is what the record's size costs in cache and TLB misses.
type floor64Fleet struct {
	mu sync.Mutex
	m  map[string]int32
	r  []struct {
		last time.Time
		_    [40]byte
	}
}

func newFloor64Fleet(ids []string) *floor64Fleet {
	f := &floor64Fleet{m: map[string]int32{}}
	f.r = make([]struct {
		last time.Time
		_    [40]byte
	}, len(ids))
	for i, id := range ids {
		f.m[id] = int32(i)
		f.r[i].last = hbEpoch
	}
	return f
}

func (f *floor64Fleet) beat(id string, at time.Time) {
	f.mu.Lock()
	if k, ok := f.m[id]; ok && at.After(f.r[k].last) {
		f.r[k].last = at
	}
	f.mu.Unlock()
}

// BenchmarkHealthHeartbeatRandom is BenchmarkHealthHeartbeat with the
// heartbeats in a random order of the nodes, against the floors in the
// same order: every heartbeat misses the CPU caches.
func BenchmarkHealthHeartbeatRandom(b *testing.B) {
	tr, ids := trackerWith(100_000, health.TrackerOptions{SuspectAfter: time.Minute})
	floor, floor64 := newFloorFleet(ids), newFloor64Fleet(ids) // records in join order, like the tracker's
	ids = shuffled(ids)
	for _, tc := range []struct {
		name string
		beat func(string, time.Time)
	}{{"tracker", tr.Heartbeat}, {"floor", floor.beat}, {"floor-64B-record", floor64.beat}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			at := hbEpoch.Add(time.Hour)
			i := 0
			for b.Loop() {
				at = at.Add(time.Microsecond)
				tc.beat(ids[i], at)
				i++
				if i == len(ids) {
					i = 0
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
		})
	}
}

// BenchmarkHealthHeartbeatParallel is heartbeats from GOMAXPROCS goroutines
// at once (run with -cpu 2), each beating its own share of the 100k nodes
// in a random order, against the floor under the same load. One mutex
// guards each, so this shows what the lock costs when contended.
func BenchmarkHealthHeartbeatParallel(b *testing.B) {
	tr, ids := trackerWith(100_000, health.TrackerOptions{SuspectAfter: time.Minute})
	floor := newFloorFleet(ids) // records in join order, like the tracker's
	ids = shuffled(ids)
	for _, tc := range []struct {
		name string
		beat func(string, time.Time)
	}{{"tracker", tr.Heartbeat}, {"floor", floor.beat}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var worker atomic.Int64
			parts := runtime.GOMAXPROCS(0) // RunParallel's goroutines: one share of the fleet each
			b.RunParallel(func(pb *testing.PB) {
				w := int(worker.Add(1)-1) % parts
				share := ids[w*len(ids)/parts : (w+1)*len(ids)/parts]
				at := hbEpoch.Add(time.Duration(w+1) * time.Hour) // a share is beaten by one goroutine only
				i := 0
				for pb.Next() {
					at = at.Add(time.Microsecond)
					tc.beat(share[i], at)
					if i++; i == len(share) {
						i = 0
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "heartbeats/s")
		})
	}
}
