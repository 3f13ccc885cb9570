package health

import (
	"slices"
	"sync"
	"time"

	"github.com/edgeinfra/edgeinfra/node"
)

// clusterBatch is how many nodes CheckCluster judges between two clock
// reads; each check's Latency is its batch's time divided by its size.
const clusterBatch = 256

// Monitor checks nodes against their heartbeats and keeps a bounded history
// of checks per node. All methods are safe for concurrent use.
type Monitor struct {
	opts        Options
	timeout     time.Duration
	historySize int

	mu    sync.Mutex       // guards everything below
	index map[string]int32 // node ID → its record in recs
	recs  []record         // one per node with a history; Forget moves the last into the hole
	// order is the recs index of each node of the last CheckCluster, in
	// that call's order; prev is the one before, which a call reads while
	// it writes order. It is a hint: an entry is used only when its
	// record's ID matches, so a fleet checked again in the same order needs
	// no map lookup, and any other input falls back to index. shift is how
	// far the current call's positions are from prev's, since the last
	// node inserted or removed.
	order, prev []int32
	shift       int
	lookups     uint64 // map lookups CheckCluster fell back to (tests read it)
	// regions names the slots of CheckCluster's per-region counts across
	// calls (a hint, like order: a record's slot is used only when the name
	// matches); regionIdx finds a name's slot.
	regions   []string
	regionIdx map[string]int32
	batch     [clusterBatch]entry
	healthy   int // nodes whose newest check is healthy
	checks    uint64
	clusterAt time.Time
}

// record is one node's history, found through Monitor.index or order.
type record struct {
	id string
	ring
	regionSlot int32 // the node's region slot at its last CheckCluster (a hint)
	pos        int32 // the node's position in its last CheckCluster (a hint)
}

// NewMonitor returns a Monitor with no history.
func NewMonitor(opts Options) *Monitor {
	return &Monitor{
		opts:        opts,
		timeout:     opts.heartbeatTimeout(),
		historySize: opts.historySize(),
		index:       map[string]int32{},
		regionIdx:   map[string]int32{},
	}
}

// CheckNode checks n now and appends the check to n's history. A node is
// healthy when its status is Online or Degraded and its last heartbeat is no
// older than HeartbeatTimeout; a zero LastHeartbeat is unhealthy. An empty
// n.ID is checked and kept like any other ID.
func (m *Monitor) CheckNode(n node.Node) Check {
	start := time.Now()
	e := judge(&n, m.opts.now(), m.timeout)
	e.latency = time.Since(start)
	m.mu.Lock()
	m.add(&m.recs[m.lookup(n.ID)], &e)
	m.mu.Unlock()
	return e.check(n.ID)
}

// lookup returns the index of id's record, creating it if needed.
func (m *Monitor) lookup(id string) int32 {
	k, ok := m.index[id]
	if !ok {
		k = int32(len(m.recs))
		m.recs = append(m.recs, record{id: id})
		m.index[id] = k
	}
	return k
}

// add appends e to r's history and keeps the counters.
func (m *Monitor) add(r *record, e *entry) {
	if r.lastHealthy() {
		m.healthy--
	}
	if e.reason == reasonNone {
		m.healthy++
	}
	r.push(e, m.historySize)
	m.checks++
}

// CheckCluster checks every node in nodes (each check goes into that node's
// history, as with CheckNode) and reports on them together. FlappingNodes
// lists the nodes passed in that are flapping over their newest 10 checks.
// A node listed twice is checked twice and counted twice in Total; the ID
// lists hold each ID once.
//
// The clock is read once per batch of 256 nodes, not per node: each
// check's Latency is its batch's judging time divided by the batch size.
// Checking the same fleet again in the same order costs no map lookup; the
// call holds the Monitor's lock throughout.
func (m *Monitor) CheckCluster(nodes []node.Node) ClusterReport {
	now := m.opts.now()
	rep := ClusterReport{Total: len(nodes), CheckedAt: now, UnhealthyNodes: []string{}, FlappingNodes: []string{}, Regions: map[string]*RegionCounts{}}
	m.mu.Lock()
	m.prev, m.order, m.shift = m.order, m.prev[:0], 0
	counts := make([]RegionCounts, len(m.regions))
	for lo := 0; lo < len(nodes); lo += clusterBatch {
		chunk := nodes[lo:min(lo+clusterBatch, len(nodes))]
		start := time.Now()
		for i := range chunk {
			m.batch[i] = judge(&chunk[i], now, m.timeout)
		}
		latency := time.Since(start) / time.Duration(len(chunk))
		for i := range chunk {
			n, e := &chunk[i], &m.batch[i]
			e.latency = latency
			r := m.clusterRecord(lo+i, n.ID)
			m.add(r, e)
			s := m.regionSlot(r, n.Region)
			for int(s) >= len(counts) {
				counts = append(counts, RegionCounts{})
			}
			c := &counts[s]
			c.Total++
			if e.reason == reasonNone {
				c.Healthy++
			} else {
				c.Unhealthy++
				rep.UnhealthyNodes = append(rep.UnhealthyNodes, n.ID)
			}
			if r.transitions(clusterFlapWindow) >= flapTransitions {
				rep.FlappingNodes = append(rep.FlappingNodes, n.ID)
			}
		}
	}
	used := 0
	for s := range counts {
		if c := &counts[s]; c.Total > 0 {
			rep.Regions[m.regions[s]] = c
			rep.Healthy += c.Healthy
			used++
		}
	}
	if len(m.regions) > 2*used+64 {
		// Regions of fleets long gone: start the table afresh. The slots
		// records keep are checked by name, so none goes wrong.
		m.regions, m.regionIdx = nil, map[string]int32{}
	}
	m.clusterAt = now
	m.mu.Unlock()
	rep.Unhealthy = rep.Total - rep.Healthy
	if rep.Total > 0 {
		rep.HealthyPercent = 100 * float64(rep.Healthy) / float64(rep.Total)
	}
	rep.UnhealthyNodes = sortedUnique(rep.UnhealthyNodes)
	rep.FlappingNodes = sortedUnique(rep.FlappingNodes)
	return rep
}

// clusterRecord returns the record of the i-th node of a CheckCluster,
// through the order of the previous call when it still holds, and notes
// the node's place in this call's order.
func (m *Monitor) clusterRecord(i int, id string) *record {
	k, ok := int32(-1), false
	if j := i + m.shift; j >= 0 && j < len(m.prev) {
		k = m.prev[j]
		ok = int(k) < len(m.recs) && m.recs[k].id == id
	}
	if !ok {
		k = m.lookup(id)
		m.lookups++
		// The fleet changed here (a node inserted, removed or moved). If
		// this node was in the previous call, go on from its old place: a
		// hub keeps its fleet sorted by ID, so a node that joins shifts
		// every later one, and this makes that cost one lookup, not one
		// per later node.
		if p := int(m.recs[k].pos); p < len(m.prev) && m.prev[p] == k {
			m.shift = p - i
		}
	}
	m.order = append(m.order, k)
	r := &m.recs[k]
	r.pos = int32(i)
	return r
}

// regionSlot returns the slot of region name in CheckCluster's counts,
// through r's slot of the previous call when it still holds.
func (m *Monitor) regionSlot(r *record, name string) int32 {
	if s := r.regionSlot; int(s) < len(m.regions) && m.regions[s] == name {
		return s
	}
	s, ok := m.regionIdx[name]
	if !ok {
		s = int32(len(m.regions))
		m.regions = append(m.regions, name)
		m.regionIdx[name] = s
	}
	r.regionSlot = s
	return s
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
	k, ok := m.index[nodeID]
	if !ok {
		return []Check{}
	}
	return m.recs[k].newest(nodeID, limit)
}

// DetectFlapping reports whether nodeID's health flapped: among its newest
// window checks (window <= 0: all kept), 3 or more consecutive pairs differ
// in Healthy. An unknown node, or one with fewer than 4 checks, is not
// flapping.
func (m *Monitor) DetectFlapping(nodeID string, window int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.index[nodeID]
	return ok && m.recs[k].transitions(window) >= flapTransitions
}

// Forget drops nodeID's history and reports whether there was any. The
// Monitor keeps every node ID ever checked; a fleet that retires nodes
// calls Forget to release them.
func (m *Monitor) Forget(nodeID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.index[nodeID]
	if !ok {
		return false
	}
	if m.recs[k].lastHealthy() {
		m.healthy--
	}
	last := int32(len(m.recs) - 1)
	if k != last {
		m.recs[k] = m.recs[last]
		m.index[m.recs[k].id] = k
	}
	m.recs[last] = record{}
	m.recs = m.recs[:last]
	delete(m.index, nodeID)
	if cap(m.recs) > 1024 && len(m.recs) < cap(m.recs)/4 {
		m.recs = slices.Clip(slices.Clone(m.recs)) // give back what a shrunk fleet left
	}
	return true
}

// Summary returns counters for status endpoints, in O(1).
func (m *Monitor) Summary() Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Summary{
		NodesTracked:            len(m.recs),
		Healthy:                 m.healthy,
		Unhealthy:               len(m.recs) - m.healthy,
		ChecksTotal:             m.checks,
		HeartbeatTimeoutSeconds: m.timeout.Seconds(),
		HistorySize:             m.historySize,
		LastClusterCheck:        m.clusterAt,
	}
}
