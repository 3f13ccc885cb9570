package health

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

func stateOf(t *testing.T, tr *Tracker, id string) State {
	t.Helper()
	s, ok := tr.Node(id)
	if !ok {
		t.Fatalf("node %s not tracked", id)
	}
	return s.State
}

func TestTrackerAliveSuspectDead(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: 10 * time.Second, DeadAfter: 30 * time.Second, StallThreshold: -1})
	tr.Join(node.Node{ID: "n1", Region: "eu", LastHeartbeat: t0})
	steps := []struct {
		at      time.Duration
		want    State
		changed bool // Sweep returns the transition
	}{
		{9 * time.Second, Alive, false},
		{10 * time.Second, Suspect, true},
		{29 * time.Second, Suspect, false}, // hysteresis: suspect is not dead
		{30 * time.Second, Dead, true},
		{60 * time.Second, Dead, false},
	}
	prev := Alive
	for _, s := range steps {
		trans := tr.Sweep(t0.Add(s.at))
		if got := stateOf(t, tr, "n1"); got != s.want {
			t.Fatalf("at +%v: state %v, want %v", s.at, got, s.want)
		}
		want := []Transition(nil)
		if s.changed {
			want = []Transition{{NodeID: "n1", Region: "eu", From: prev, To: s.want, At: t0.Add(s.at)}}
		}
		if !slices.Equal(trans, want) {
			t.Fatalf("at +%v: Sweep = %+v, want %+v", s.at, trans, want)
		}
		prev = s.want
	}
	tr.Heartbeat("n1", t0.Add(61*time.Second))
	if got := stateOf(t, tr, "n1"); got != Alive {
		t.Fatalf("after a heartbeat: %v, want alive", got)
	}
	if s, _ := tr.Node("n1"); s.Transitions != 3 || s.Region != "eu" {
		t.Fatalf("NodeState = %+v, want 3 transitions in region eu", s)
	}
}

func TestTrackerOneLateHeartbeatIsNotDeath(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: 2 * time.Second, DeadAfter: 6 * time.Second, StallThreshold: -1})
	at := t0
	tr.Heartbeat("n", at)
	for i := range 20 {
		gap := time.Second
		if i == 7 {
			gap = 4 * time.Second // one late heartbeat
		}
		for s := time.Duration(0); s < gap; s += 500 * time.Millisecond {
			tr.Sweep(at.Add(s))
		}
		at = at.Add(gap)
		tr.Heartbeat("n", at)
		if stateOf(t, tr, "n") != Alive {
			t.Fatalf("heartbeat %d did not make the node alive", i)
		}
	}
	if s, _ := tr.Node("n"); s.Transitions != 2 {
		t.Fatalf("transitions = %d, want 2 (suspect and back), never dead", s.Transitions)
	}
}

func TestTrackerEpochs(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: time.Second, StallThreshold: -1})
	tr.HeartbeatEpoch("n", 5, t0)
	tr.Sweep(t0.Add(10 * time.Second))
	if stateOf(t, tr, "n") != Dead {
		t.Fatal("silent node not dead")
	}
	tr.HeartbeatEpoch("n", 4, t0.Add(11*time.Second)) // a delayed message of a previous run
	if stateOf(t, tr, "n") != Dead {
		t.Fatal("a stale epoch resurrected the node")
	}
	tr.Heartbeat("n", t0.Add(-time.Second)) // older than the newest heartbeat
	if stateOf(t, tr, "n") != Dead {
		t.Fatal("a reordered heartbeat resurrected the node")
	}
	tr.HeartbeatEpoch("n", 6, t0.Add(12*time.Second)) // the node restarted
	if s, _ := tr.Node("n"); s.State != Alive || s.Epoch != 6 {
		t.Fatalf("after restart: %+v", s)
	}
}

func TestTrackerSweepLooksOnlyAtDueNodes(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: 10 * time.Second, StallThreshold: -1})
	for i := range 1000 {
		tr.Heartbeat(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	// At +10.5s, nodes 0..500 are due; the rest are not looked at.
	if n := len(tr.Sweep(t0.Add(10*time.Second + 500*time.Millisecond))); n != 501 {
		t.Fatalf("Sweep changed %d nodes, want 501", n)
	}
	if top := tr.deadlines.e[0]; top.at < t0.Add(10*time.Second+501*time.Millisecond).UnixNano() {
		t.Fatal("a due node is still at the top of the deadline heap")
	}
}

func TestTrackerHeartbeatDoesNotAllocate(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	tr.Heartbeat("n", t0)
	at := t0
	allocs := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Millisecond)
		tr.Heartbeat("n", at)
	})
	if allocs != 0 {
		t.Fatalf("Heartbeat of a known node allocates %v times", allocs)
	}
}

func TestTrackerPhiAccrual(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: 10 * time.Second, DeadAfter: time.Minute, PhiThreshold: 8, MinPhiStdDev: 50 * time.Millisecond, StallThreshold: -1})
	at := t0
	for range 50 {
		tr.Heartbeat("steady", at)
		at = at.Add(time.Second)
	}
	last := at.Add(-time.Second)
	// With 1s intervals, phi passes 8 long before the fixed 10s timeout.
	tr.Sweep(last.Add(1200 * time.Millisecond))
	if stateOf(t, tr, "steady") != Alive {
		t.Fatal("suspect 200ms after an expected heartbeat")
	}
	tr.Sweep(last.Add(2 * time.Second))
	s, _ := tr.Node("steady")
	if s.State != Suspect || s.Phi < 8 {
		t.Fatalf("2s silence after 1s beats: %+v, want suspect with phi >= 8", s)
	}
	if p := phiOf(1, 1, 0.1); p < 0.2 || p > 0.4 {
		t.Fatalf("phi at the mean = %v, want about 0.3 (-log10 0.5)", p)
	}
}

func TestTrackerWeightedFlapping(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: time.Second, DeadAfter: 10 * time.Second, WeightedFlapping: true, StallThreshold: -1})
	events, cancel := tr.Subscribe(100)
	defer cancel()
	at := t0
	tr.Heartbeat("f", at)
	for range 8 { // silent 1s (suspect), then a heartbeat (recovered)
		at = at.Add(time.Second)
		tr.Sweep(at)
		at = at.Add(100 * time.Millisecond)
		tr.Heartbeat("f", at)
	}
	if s, _ := tr.Node("f"); !s.Flapping {
		t.Fatal("a node going up and down 8 times is not flapping")
	}
	for range 30 { // steady
		at = at.Add(500 * time.Millisecond)
		tr.Heartbeat("f", at)
	}
	if s, _ := tr.Node("f"); s.Flapping {
		t.Fatal("still flapping after 30 steady heartbeats")
	}
	var kinds []EventKind
	for len(events) > 0 {
		kinds = append(kinds, (<-events).Kind)
	}
	if !contains(kinds, EventFlapStart) || !contains(kinds, EventFlapStop) || kinds[0] != EventJoin {
		t.Fatalf("events = %v, want join … flap-start … flap-stop", kinds)
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestWeightedChange(t *testing.T) {
	var f flapHistory
	cfg := TrackerOptions{WeightedFlapping: true}.config()
	for i := range flapWindow {
		f.record(i%2 == 0, cfg)
	}
	if pct := f.weightedChange(); pct < 99.9 || pct > 100.1 {
		t.Fatalf("alternating results: %v%%, want 100", pct)
	}
	var g flapHistory
	for range flapWindow {
		g.record(true, cfg)
	}
	g.record(false, cfg) // the newest pair changes: weight 1.25
	if pct := g.weightedChange(); pct < 6.2 || pct > 6.3 {
		t.Fatalf("one newest change: %v%%, want 1.25/20 = 6.25%%", pct)
	}
}

func TestSlowSubscriberNeverBlocks(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	_, cancel := tr.Subscribe(2)
	for i := range 10 {
		tr.Heartbeat(fmt.Sprint(i), t0) // 10 join events
	}
	if tr.Dropped() != 8 {
		t.Fatalf("Dropped = %d, want 8", tr.Dropped())
	}
	cancel()
	cancel() // idempotent
}

func TestTrackerRegionReport(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: time.Second, DeadAfter: 2 * time.Second, StallThreshold: -1})
	for i := range 4 {
		tr.Join(node.Node{ID: fmt.Sprintf("eu-%d", i), Region: "eu", LastHeartbeat: t0})
		tr.Join(node.Node{ID: fmt.Sprintf("us-%d", i), Region: "us", LastHeartbeat: t0})
	}
	at := t0.Add(1500 * time.Millisecond)
	for i := range 4 { // every us node and one eu node keep beating
		tr.Heartbeat(fmt.Sprintf("us-%d", i), at)
	}
	tr.Heartbeat("eu-0", at)
	tr.Sweep(t0.Add(1200 * time.Millisecond))
	tr.Sweep(at)
	tr.cfg.now = func() time.Time { return at }
	rep := tr.Report()
	if rep.Total != 8 || rep.Alive != 5 || rep.Suspect != 3 {
		t.Fatalf("report = %+v", rep)
	}
	if eu := rep.Regions["eu"]; !eu.Unhealthy || eu.RecentlyLost != 3 {
		t.Fatalf("eu = %+v, want unhealthy with 3 recently lost", eu)
	}
	if rep.Regions["us"].Unhealthy || len(rep.Unhealthy) != 1 || rep.Unhealthy[0] != "eu" {
		t.Fatalf("unhealthy regions = %v", rep.Unhealthy)
	}
}

func TestTrackerForgetAndNodes(t *testing.T) {
	tr := NewTracker(TrackerOptions{})
	for _, id := range []string{"c", "a", "b"} {
		tr.Heartbeat(id, t0)
	}
	if !tr.Forget("b") || tr.Forget("b") || tr.Len() != 2 {
		t.Fatal("Forget")
	}
	ns := tr.Nodes()
	if len(ns) != 2 || ns[0].ID != "a" || ns[1].ID != "c" {
		t.Fatalf("Nodes = %+v", ns)
	}
	tr.Sweep(t0.Add(time.Hour)) // the forgotten node is no longer in the heap
}

// TestStallGivesNoFalseDeaths stalls the tracker for two seconds while
// nodes keep beating every second: heartbeats queue up and are handled
// late, and the first sweep after the stall must not convict anyone.
func TestStallGivesNoFalseDeaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := NewTracker(TrackerOptions{SuspectAfter: 1500 * time.Millisecond, DeadAfter: 2500 * time.Millisecond, SweepInterval: 100 * time.Millisecond})
		events, cancel := tr.Subscribe(1000)
		defer cancel()
		pause, resume := make(chan struct{}), make(chan struct{})
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		queue := make(chan string, 1000)
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() { // a node beating every second into the tracker's inbox
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						queue <- fmt.Sprint(i)
					}
				}
			})
		}
		wg.Go(func() { // the tracker's process: handles heartbeats and sweeps
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-queue:
					tr.Heartbeat(id, time.Now())
				case <-tick.C:
					tr.Sweep(time.Now())
				case <-pause: // the whole process stops: no heartbeats handled, no sweeps
					<-resume
				}
			}
		})
		time.Sleep(5 * time.Second)
		pause <- struct{}{}
		time.Sleep(2 * time.Second) // the stall
		resume <- struct{}{}
		time.Sleep(5 * time.Second)
		stop()
		wg.Wait()
		for len(events) > 0 {
			if e := <-events; e.Kind == EventDead || e.Kind == EventSuspect {
				t.Fatalf("false verdict after a stall: %+v", e)
			}
		}
		if tr.Stalls() == 0 {
			t.Fatal("the stall was not detected")
		}
	})
}

func TestStallWithoutProtectionConvicts(t *testing.T) {
	// The same situation with protection off shows the test above can fail.
	tr := NewTracker(TrackerOptions{SuspectAfter: 1500 * time.Millisecond, DeadAfter: 2500 * time.Millisecond, SweepInterval: 100 * time.Millisecond, StallThreshold: -1})
	tr.Heartbeat("n", t0)
	tr.Sweep(t0.Add(900 * time.Millisecond))
	tr.Sweep(t0.Add(2900 * time.Millisecond)) // 2s stall; the heartbeat of +1s waits in the queue
	if stateOf(t, tr, "n") != Dead {
		t.Fatal("without stall protection the node should have been (wrongly) convicted")
	}
	tr2 := NewTracker(TrackerOptions{SuspectAfter: 1500 * time.Millisecond, DeadAfter: 2500 * time.Millisecond, SweepInterval: 100 * time.Millisecond})
	tr2.Heartbeat("n", t0)
	tr2.Sweep(t0.Add(900 * time.Millisecond))
	tr2.Sweep(t0.Add(2900 * time.Millisecond))
	if stateOf(t, tr2, "n") != Alive {
		t.Fatal("with stall protection the node must stay alive")
	}
}

func TestTrackerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := NewTracker(TrackerOptions{SuspectAfter: time.Second, DeadAfter: 2 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Run(ctx) }()
		tr.Heartbeat("n", time.Now())
		time.Sleep(3 * time.Second)
		if stateOf(t, tr, "n") != Dead {
			t.Fatal("Run did not sweep")
		}
		cancel()
		if err := <-done; err != context.Canceled {
			t.Fatalf("Run = %v", err)
		}
	})
}

func TestTrackerConcurrent(t *testing.T) {
	tr := NewTracker(TrackerOptions{SuspectAfter: time.Millisecond})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint((w*7 + i) % 50)
				tr.HeartbeatEpoch(id, uint64(i/100), time.Now())
				tr.Sweep(time.Now())
				_, _ = tr.Node(id)
				if i%50 == 0 {
					_ = tr.Nodes()
					_ = tr.Report()
					tr.Forget(id)
				}
			}
		})
	}
	wg.Wait()
}
