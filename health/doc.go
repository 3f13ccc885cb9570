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
// report uses a window of 10. The history map keeps every node ID it has
// seen until [Monitor.Forget] drops it.
//
// # Concurrency and copies
//
// All methods are safe for concurrent use. Checks, histories and reports are
// copies the caller owns. [Monitor.Summary] is O(1).
package health
