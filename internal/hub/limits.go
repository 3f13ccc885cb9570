package hub

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgeinfra/edgeinfra/internal/wire"
	"github.com/edgeinfra/edgeinfra/metrics"
)

// Per-agent limits (Config.MaxNodes, MaxSeriesPerNode, HeartbeatRate):
// what one agent, or many new node IDs, can make the hub hold or do. What
// they refuse is counted in /metrics as edgeinfra_hub_rejected_total with
// a kind and a reason, and logged at most once a minute per node (per
// hub for max_nodes), so a refusal is never silent.
//
//   - max_nodes: a heartbeat, state change or metrics delta of a node ID
//     the hub does not track yet, once it tracks MaxNodes nodes (metric
//     deltas count the nodes that sent metrics, separately).
//   - max_series: a series (function) a node has not sent before, once it
//     has sent MaxSeriesPerNode; the delta's other series are merged.
//   - rate: a heartbeat over the node's token bucket, HeartbeatRate per
//     second with bursts of HeartbeatBurst. It is dropped before it is
//     decoded; heartbeats only say "alive", so the next one says it again.
//   - invalid: a message (or, for metrics, a series with a bad function
//     ID) that fails the checks of package wire.
//
// For metrics, rejections count series; for the other kinds, messages.

// Defaults of the limits.
const (
	defaultMaxNodes         = 100_000
	defaultMaxSeriesPerNode = 1000
	defaultHeartbeatRate    = 20 // per node per second: agents send one every few seconds
)

type rejectKind int

const (
	kindHeartbeat rejectKind = iota
	kindState
	kindMetrics
	numKinds
)

var kindNames = [numKinds]string{"heartbeat", "state", "metrics"}

type rejectReason int

const (
	reasonInvalid rejectReason = iota
	reasonRate
	reasonMaxNodes
	reasonMaxSeries
	numReasons
)

var reasonNames = [numReasons]string{"invalid", "rate", "max_nodes", "max_series"}

// rejectLabels are the (kind, reason) pairs that can happen, exported
// even at zero so that alerts can rely on them.
var rejectLabels = []struct {
	kind   rejectKind
	reason rejectReason
}{
	{kindHeartbeat, reasonInvalid}, {kindHeartbeat, reasonRate}, {kindHeartbeat, reasonMaxNodes},
	{kindState, reasonInvalid}, {kindState, reasonMaxNodes},
	{kindMetrics, reasonInvalid}, {kindMetrics, reasonMaxNodes}, {kindMetrics, reasonMaxSeries},
}

// rejections counts what the hub refused.
type rejections struct {
	n [numKinds][numReasons]atomic.Uint64
}

func (r *rejections) add(k rejectKind, why rejectReason, n uint64) { r.n[k][why].Add(n) }

func (r *rejections) get(k rejectKind, why rejectReason) uint64 { return r.n[k][why].Load() }

func (r *rejections) total() uint64 {
	var t uint64
	for k := range r.n {
		for w := range r.n[k] {
			t += r.n[k][w].Load()
		}
	}
	return t
}

// limitValue applies the zero-means-default, negative-means-none rule.
func limitValue(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0 // no limit
	}
	return v
}

// configureLimits applies Config's limits to the registry and the series
// quota.
func (h *Hub) configureLimits() {
	h.reg.maxNodes = limitValue(h.cfg.MaxNodes, defaultMaxNodes)
	r := h.cfg.HeartbeatRate
	if r == 0 {
		r = defaultHeartbeatRate
	}
	h.hbRate = r
	if r > 0 {
		burst := h.cfg.HeartbeatBurst
		if burst <= 0 {
			burst = max(int(2*r), 1)
		}
		h.reg.heartbeatLimiter = func() *rate.Limiter { return rate.NewLimiter(rate.Limit(r), burst) }
	}
	h.quota = newSeriesQuota(h.reg.maxNodes, limitValue(h.cfg.MaxSeriesPerNode, defaultMaxSeriesPerNode))
}

// logLimit logs a refusal at most once a minute per *last.
func (h *Hub) logLimit(last *atomic.Int64, now time.Time, msg string, args ...any) {
	prev := last.Load()
	if now.UnixNano()-prev < int64(time.Minute) || !last.CompareAndSwap(prev, now.UnixNano()) {
		return
	}
	h.log.Warn(msg, args...)
}

// refuseNode counts and logs a message of a new node past MaxNodes.
func (h *Hub) refuseNode(k rejectKind, id string, now time.Time) {
	h.rejects.add(k, reasonMaxNodes, 1)
	h.logLimit(&h.nodesLogged, now, "refusing a new node: the hub tracks --max-nodes nodes already",
		"node", id, "kind", kindNames[k], "max_nodes", h.reg.maxNodes, "refused_so_far", h.rejects.get(k, reasonMaxNodes))
}

// seriesQuota remembers which functions each node has sent metrics for,
// to bound the series one node creates. Its memory is bounded by
// maxNodes × perNode function IDs of at most wire.MaxFunctionLen bytes.
type seriesQuota struct {
	maxNodes, perNode int // 0: no limit

	mu    sync.Mutex // guards nodes
	nodes map[string]*nodeSeries
}

type nodeSeries struct {
	fns    map[string]struct{}
	logged atomic.Int64 // unix nanoseconds of the last max_series log line
}

func newSeriesQuota(maxNodes, perNode int) *seriesQuota {
	return &seriesQuota{maxNodes: maxNodes, perNode: perNode, nodes: map[string]*nodeSeries{}}
}

// restore records the series of snap (a restored checkpoint) in the
// quota, as if they had been admitted.
func (q *seriesQuota) restore(snap metrics.Snapshot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, k := range snap.Keys() {
		ns := q.nodes[k.NodeID]
		if ns == nil {
			ns = &nodeSeries{fns: map[string]struct{}{}}
			q.nodes[k.NodeID] = ns
		}
		ns.fns[k.FunctionID] = struct{}{}
	}
}

// admitMetrics returns the part of snap (every series of node id) that
// the hub merges: series with a valid function ID, of a node within
// MaxNodes, within the node's series quota. The rest is counted, and
// logged.
func (h *Hub) admitMetrics(id string, snap metrics.Snapshot, now time.Time) metrics.Snapshot {
	q := h.quota
	keys := snap.Keys()
	keep := make([]bool, len(keys))
	var invalid, overQuota uint64
	var firstBad error
	q.mu.Lock()
	ns := q.nodes[id]
	if ns == nil {
		if q.maxNodes > 0 && len(q.nodes) >= q.maxNodes {
			q.mu.Unlock()
			h.refuseNode(kindMetrics, id, now)
			return metrics.Snapshot{}
		}
		ns = &nodeSeries{fns: map[string]struct{}{}}
		q.nodes[id] = ns
	}
	for i, k := range keys {
		if err := wire.ValidFunctionID(k.FunctionID); err != nil {
			invalid++
			firstBad = err
			continue
		}
		if _, ok := ns.fns[k.FunctionID]; !ok {
			if q.perNode > 0 && len(ns.fns) >= q.perNode {
				overQuota++
				continue
			}
			ns.fns[k.FunctionID] = struct{}{}
		}
		keep[i] = true
	}
	q.mu.Unlock()
	if invalid+overQuota == 0 {
		return snap
	}
	if invalid > 0 {
		h.rejects.add(kindMetrics, reasonInvalid, invalid)
		h.log.Debug("metric series with an invalid function ID refused", "node", id, "series", invalid, "err", firstBad)
	}
	if overQuota > 0 {
		h.rejects.add(kindMetrics, reasonMaxSeries, overQuota)
		h.logLimit(&ns.logged, now, "refusing new metric series of a node over its quota (--max-series-per-node)",
			"node", id, "refused_series", overQuota, "max_series_per_node", q.perNode)
	}
	i := 0
	return snap.Select(func(metrics.Filter) bool { i++; return keep[i-1] })
}
