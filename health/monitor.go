package health

import (
	"slices"
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// Monitor checks nodes against their heartbeats and keeps a bounded history
// of checks per node. All methods are safe for concurrent use.
type Monitor struct {
	opts        Options
	timeout     time.Duration
	historySize int

	mu        sync.Mutex // guards history, healthy and checks
	history   map[string]*ring
	healthy   int // nodes whose newest check is healthy
	checks    uint64
	clusterAt time.Time
}

// NewMonitor returns a Monitor with no history.
func NewMonitor(opts Options) *Monitor {
	return &Monitor{
		opts:        opts,
		timeout:     opts.heartbeatTimeout(),
		historySize: opts.historySize(),
		history:     map[string]*ring{},
	}
}

// CheckNode checks n now and appends the check to n's history. A node is
// healthy when its status is Online or Degraded and its last heartbeat is no
// older than HeartbeatTimeout; a zero LastHeartbeat is unhealthy. An empty
// n.ID is checked and kept like any other ID.
func (m *Monitor) CheckNode(n node.Node) Check {
	start := time.Now()
	c := evaluate(n, m.opts.now(), m.timeout)
	c.Latency = time.Since(start)
	m.mu.Lock()
	m.appendLocked(c)
	m.mu.Unlock()
	return c
}

func (m *Monitor) appendLocked(c Check) *ring {
	r := m.history[c.NodeID]
	if r == nil {
		r = &ring{size: m.historySize}
		m.history[c.NodeID] = r
	} else if prev, ok := r.last(); ok && prev.Healthy {
		m.healthy--
	}
	if c.Healthy {
		m.healthy++
	}
	r.push(c)
	m.checks++
	return r
}

// CheckCluster checks every node in nodes (each check goes into that node's
// history, as with CheckNode) and reports on them together. FlappingNodes
// lists the nodes passed in that are flapping over their newest 10 checks.
// A node listed twice is checked twice and counted twice in Total; the ID
// lists hold each ID once.
func (m *Monitor) CheckCluster(nodes []node.Node) ClusterReport {
	now := m.opts.now()
	rep := ClusterReport{Total: len(nodes), CheckedAt: now, UnhealthyNodes: []string{}, FlappingNodes: []string{}, Regions: map[string]*RegionCounts{}}
	checks := make([]Check, len(nodes))
	// One clock read per node: each check's Latency runs from the end of
	// the previous one.
	start := time.Now()
	for i, n := range nodes {
		checks[i] = evaluate(n, now, m.timeout)
		end := time.Now()
		checks[i].Latency = end.Sub(start)
		start = end
	}
	m.mu.Lock()
	for i, c := range checks {
		r := m.appendLocked(c)
		region := rep.region(nodes[i].Region)
		region.Total++
		if c.Healthy {
			rep.Healthy++
			region.Healthy++
		} else {
			rep.Unhealthy++
			region.Unhealthy++
			rep.UnhealthyNodes = append(rep.UnhealthyNodes, c.NodeID)
		}
		if r.transitions(clusterFlapWindow) >= flapTransitions {
			rep.FlappingNodes = append(rep.FlappingNodes, c.NodeID)
		}
	}
	m.clusterAt = now
	m.mu.Unlock()
	if rep.Total > 0 {
		rep.HealthyPercent = 100 * float64(rep.Healthy) / float64(rep.Total)
	}
	rep.UnhealthyNodes = sortedUnique(rep.UnhealthyNodes)
	rep.FlappingNodes = sortedUnique(rep.FlappingNodes)
	return rep
}

func sortedUnique(ids []string) []string {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// History returns the newest limit checks of nodeID, oldest first; limit <=
// 0 returns all kept (at most HistorySize). An unknown node has no history:
// the result is empty.
func (m *Monitor) History(nodeID string, limit int) []Check {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.history[nodeID]
	if r == nil {
		return []Check{}
	}
	return r.newest(limit)
}

// DetectFlapping reports whether nodeID's health flapped: among its newest
// window checks (window <= 0: all kept), 3 or more consecutive pairs differ
// in Healthy. An unknown node, or one with fewer than 4 checks, is not
// flapping.
func (m *Monitor) DetectFlapping(nodeID string, window int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.history[nodeID]
	return r != nil && r.transitions(window) >= flapTransitions
}

// Forget drops nodeID's history and reports whether there was any. The
// history map grows with every node ID ever checked; a fleet that retires
// nodes calls Forget to release them.
func (m *Monitor) Forget(nodeID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.history[nodeID]
	if r == nil {
		return false
	}
	if c, ok := r.last(); ok && c.Healthy {
		m.healthy--
	}
	delete(m.history, nodeID)
	return true
}

// Summary returns counters for status endpoints, in O(1).
func (m *Monitor) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Summary{
		NodesTracked:            len(m.history),
		Healthy:                 m.healthy,
		Unhealthy:               len(m.history) - m.healthy,
		ChecksTotal:             m.checks,
		HeartbeatTimeoutSeconds: m.timeout.Seconds(),
		HistorySize:             m.historySize,
		LastClusterCheck:        m.clusterAt,
	}
}
