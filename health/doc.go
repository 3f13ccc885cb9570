// Package health provides heartbeat-based health checks for edge nodes, with
// a bounded history per node, flapping detection and cluster reports.
//
// # Checking nodes
//
// A [Monitor] judges a [node.Node] by its status and its last heartbeat: the
// node is healthy when its status is Online or Degraded and its heartbeat is
// no older than Options.HeartbeatTimeout (60s by default). A node that never
// sent a heartbeat is unhealthy.
//
//	m := health.NewMonitor(health.Options{HeartbeatTimeout: 30 * time.Second})
//	c := m.CheckNode(n)
//	if !c.Healthy {
//		log.Printf("%s: %s", c.NodeID, c.Reason) // "heartbeat timeout"
//	}
//	report := m.CheckCluster(fleet) // counts, sorted unhealthy and flapping IDs, per-region counts
//
// The status is judged before the heartbeat, so a node that is both offline
// and late reports "status offline". A heartbeat from the future (clock
// skew) has age 0 and counts as fresh.
//
// # History and flapping
//
// Every check, including those CheckCluster makes, is appended to the node's
// history, which keeps the newest Options.HistorySize checks (100 by
// default). [Monitor.History] returns the newest ones, oldest first.
// [Monitor.DetectFlapping] calls a node flapping when, among its newest
// window checks, 3 or more consecutive pairs differ in Healthy; the cluster
// report uses a window of 10. The Monitor keeps every node ID it has seen
// until [Monitor.Forget] drops it.
//
// # Cost at fleet scale
//
// A history grows with its checks up to HistorySize and then overwrites
// its oldest entry, so checks allocate nothing once histories are full;
// an entry takes 64 bytes. [Monitor.CheckCluster] allocates only its
// report and remembers the order of the nodes it was given: called again
// with the fleet in the same order (as a hub does), it finds each node's
// history without a map lookup, and a node that joined or left in the
// middle costs a lookup or two, not one per later node. The order is a
// hint checked by ID, so any order is correct, only slower: a shuffled
// fleet costs a lookup per node. It reads the clock once per 256 nodes,
// and gives each check its batch's average as Latency. It holds the
// Monitor's lock for the whole fleet.
//
// # Fleet scale: Tracker
//
// [Tracker] follows a large fleet from its heartbeats instead of from
// node snapshots. [Tracker.Heartbeat] is O(1) and does not allocate for a
// known node (one map lookup and one 64-byte record); [Tracker.Sweep] (or
// [Tracker.Run] in the background) looks only at nodes whose deadline has
// passed, through a min-heap of deadlines, or in one linear pass when many
// are due at once, and moves them alive → suspect → dead with separate
// thresholds, so one late heartbeat never makes a node dead. A heartbeat
// brings a node back; [Tracker.HeartbeatEpoch] carries the node's
// incarnation so a restarted node recovers at once and a delayed heartbeat
// of an older run is ignored. One mutex guards a Tracker: heartbeats from
// many goroutines do not run in parallel.
//
//	t := health.NewTracker(health.TrackerOptions{SuspectAfter: 10 * time.Second, DeadAfter: 30 * time.Second})
//	go t.Run(ctx)
//	t.Join(node.Node{ID: "pop-fra-1", Region: "eu"})
//	t.HeartbeatEpoch("pop-fra-1", bootID, time.Now()) // on every heartbeat
//	events, cancel := t.Subscribe(1024)               // join, suspect, dead, recovered, flap-start, flap-stop
//	report := t.Report()                              // counts per state and region, "region unhealthy"
//
// Options: PhiThreshold turns on a phi-accrual detector per node (as in
// Cassandra, whose default threshold is 8), which adapts the suspect
// threshold to each node's own heartbeat rhythm from its third heartbeat
// (two intervals) on; before that, SuspectAfter applies. Stall protection
// credits the time the tracker itself was not running (a GC pause, a
// starved CPU, a suspended VM: a sweep much later than SweepInterval) to
// every node, so nobody is convicted for it. WeightedFlapping switches from the Monitor's
// rule (3 transitions in the last 10 results) to Nagios' weighted percent
// state change over 21 results, with separate start and stop thresholds.
// Subscribers never slow the tracker: a full channel drops the event and
// [Tracker.Dropped] counts it. A region is reported unhealthy when many of
// its nodes went down within a short window, which points to the region (a
// partition) rather than to each node.
//
// # Concurrency and copies
//
// All methods are safe for concurrent use. Checks, histories and reports are
// copies the caller owns. [Monitor.Summary] is O(1).
package health
