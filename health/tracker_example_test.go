package health_test

import (
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/health"
	"github.com/edgeinfra/edgeinfra/node"
)

// A Tracker follows nodes from their heartbeats; Sweep moves the silent
// ones through suspect and dead, and a heartbeat brings them back.
func ExampleTracker_Sweep() {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t := health.NewTracker(health.TrackerOptions{SuspectAfter: 10 * time.Second, DeadAfter: 30 * time.Second})
	t.Join(node.Node{ID: "pop-fra-1", Region: "eu", LastHeartbeat: start})
	t.Join(node.Node{ID: "pop-ams-1", Region: "eu", LastHeartbeat: start})

	for _, s := range []time.Duration{5, 10, 15, 20, 25, 30} {
		now := start.Add(s * time.Second)
		t.Heartbeat("pop-ams-1", now) // pop-fra-1 stays silent
		for _, tr := range t.Sweep(now) {
			fmt.Printf("+%v %s: %v -> %v\n", s*time.Second, tr.NodeID, tr.From, tr.To)
		}
	}
	t.HeartbeatEpoch("pop-fra-1", 1, start.Add(31*time.Second)) // restarted with a new epoch
	s, _ := t.Node("pop-fra-1")
	fmt.Println(s.State, s.Epoch, s.Transitions)
	// Output:
	// +10s pop-fra-1: alive -> suspect
	// +30s pop-fra-1: suspect -> dead
	// alive 1 3
}

// Subscribers get every transition without ever slowing the tracker.
func ExampleTracker_Subscribe() {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t := health.NewTracker(health.TrackerOptions{SuspectAfter: 10 * time.Second})
	events, cancel := t.Subscribe(16)
	defer cancel()

	t.Heartbeat("edge-1", start)
	t.Sweep(start.Add(20 * time.Second))
	t.Heartbeat("edge-1", start.Add(21*time.Second))
	for len(events) > 0 {
		e := <-events
		fmt.Println(e.Kind, e.NodeID, e.State)
	}
	fmt.Println("dropped:", t.Dropped())
	// Output:
	// join edge-1 alive
	// dead edge-1 dead
	// recovered edge-1 alive
	// dropped: 0
}

// Report counts nodes per state and region, and flags a region where many
// nodes went down together.
func ExampleTracker_Report() {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t := health.NewTracker(health.TrackerOptions{SuspectAfter: 10 * time.Second, Now: func() time.Time { return start.Add(15 * time.Second) }})
	for i := range 4 {
		t.Join(node.Node{ID: fmt.Sprint("us-", i), Region: "us", LastHeartbeat: start})
		t.Join(node.Node{ID: fmt.Sprint("eu-", i), Region: "eu", LastHeartbeat: start})
	}
	for i := range 4 {
		t.Heartbeat(fmt.Sprint("eu-", i), start.Add(14*time.Second)) // us is partitioned away
	}
	t.Sweep(start.Add(15 * time.Second))

	r := t.Report()
	fmt.Println("alive", r.Alive, "suspect", r.Suspect)
	fmt.Println("us suspect:", r.Regions["us"].Suspect, "unhealthy regions:", r.Unhealthy)
	// Output:
	// alive 4 suspect 4
	// us suspect: 4 unhealthy regions: [us]
}
