package metrics

import (
	"sync"
	"sync/atomic"
	"time"
)

// Invocation is one function invocation on one node.
type Invocation struct {
	FunctionID string
	NodeID     string
	Duration   time.Duration
	Success    bool
	Error      string // error message or kind; empty on success
}

// Filter selects series. An empty field matches every value.
type Filter struct{ FunctionID, NodeID string }

func (f Filter) match(s *Series) bool {
	return (f.FunctionID == "" || f.FunctionID == s.fn) && (f.NodeID == "" || f.NodeID == s.node)
}

type seriesKey struct{ fn, node string }

// Aggregator aggregates invocations into per-(function, node) series. Its
// memory is bounded by the number of series, never by the number of
// invocations, and every query costs O(series). All methods are safe for
// concurrent use.
type Aggregator struct {
	now       func() time.Time
	maxSeries int
	maxKinds  int
	noWindows bool
	created   time.Time

	mu       sync.RWMutex // guards series, list, overflow, functions, nodes
	series   map[seriesKey]*Series
	list     []*Series // creation order; append-only
	overflow *Series
	fns      map[string]int // series per function ID
	nodes    map[string]int // series per node ID
	full     atomic.Bool    // len(series) reached maxSeries

	winMu      sync.Mutex   // guards epoch and every Series.win
	epoch      int64        // index of the current sub-window
	nextRotate atomic.Int64 // unix nanoseconds at which epoch ends

	deltaMu sync.Mutex // guards every Series.delta; serialises TakeDelta
}

// New returns an empty Aggregator with the zero [Options].
func New() *Aggregator { return NewWithOptions(Options{}) }

// NewWithOptions returns an empty Aggregator configured by opts.
func NewWithOptions(opts Options) *Aggregator {
	a := &Aggregator{
		now:       opts.now(),
		maxSeries: opts.maxSeries(),
		maxKinds:  opts.maxErrorKinds(),
		noWindows: opts.NoWindows,
		series:    make(map[seriesKey]*Series),
		fns:       make(map[string]int),
		nodes:     make(map[string]int),
	}
	a.created = a.now()
	a.epoch = epochOf(a.created)
	a.nextRotate.Store((a.epoch + 1) * int64(WindowStep))
	return a
}

// Series returns the handle of the (functionID, nodeID) series, creating
// the series if needed. Past [Options.MaxSeries] it returns the overflow
// series. Resolve a handle once and keep it: [Series.Observe] is the
// cheapest way to record.
func (a *Aggregator) Series(functionID, nodeID string) *Series {
	a.mu.RLock()
	s := a.series[seriesKey{functionID, nodeID}]
	a.mu.RUnlock()
	if s != nil {
		return s
	}
	return a.create(functionID, nodeID)
}

func (a *Aggregator) create(fn, node string) *Series {
	if a.full.Load() {
		if s := a.overflowSeries(); s != nil {
			return s
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.series[seriesKey{fn, node}]; s != nil {
		return s
	}
	if len(a.series) >= a.maxSeries {
		if a.overflow == nil {
			a.overflow = newSeries(OverflowID, OverflowID, a.maxKinds)
			a.list = append(a.list, a.overflow)
		}
		a.full.Store(true)
		return a.overflow
	}
	s := newSeries(fn, node, a.maxKinds)
	a.series[seriesKey{fn, node}] = s
	a.list = append(a.list, s)
	a.fns[fn]++
	a.nodes[node]++
	return s
}

func (a *Aggregator) overflowSeries() *Series {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.overflow
}

// Record records one invocation. An invocation with Success == false is an
// error of kind inv.Error ([UnknownErrorKind] when empty); inv.Error is
// ignored on success. A negative Duration counts as zero.
func (a *Aggregator) Record(inv Invocation) {
	s := a.Series(inv.FunctionID, inv.NodeID)
	a.tick()
	s.observe(inv.Duration, !inv.Success, inv.Error)
}

// match calls fn for every series f selects. A filter naming both fields
// is a map lookup; any other filter scans the series.
func (a *Aggregator) match(f Filter, fn func(*Series)) {
	if f.FunctionID != "" && f.NodeID != "" {
		a.mu.RLock()
		s := a.series[seriesKey{f.FunctionID, f.NodeID}]
		if s == nil && f.FunctionID == OverflowID && f.NodeID == OverflowID {
			s = a.overflow
		}
		a.mu.RUnlock()
		if s != nil {
			fn(s)
		}
		return
	}
	for _, s := range a.snapshotList() {
		if f.match(s) {
			fn(s)
		}
	}
}

// snapshotList returns the series in creation order. The slice must not be
// modified; later series are not in it.
func (a *Aggregator) snapshotList() []*Series {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.list[:len(a.list):len(a.list)]
}

// TotalInvocations returns the number of invocations f matches.
func (a *Aggregator) TotalInvocations(f Filter) int64 {
	var n uint64
	a.match(f, func(s *Series) { n += s.count.Load() })
	return int64(n)
}

// ErrorCount returns the number of invocations f matches that failed
// (Success == false, or a non-nil error given to [Series.Observe]).
func (a *Aggregator) ErrorCount(f Filter) int64 {
	var n uint64
	a.match(f, func(s *Series) { n += s.errs.Load() })
	return int64(n)
}

// SuccessRate returns the percentage (0..100) of the invocations f matches
// that succeeded, or 0 when f matches none.
func (a *Aggregator) SuccessRate(f Filter) float64 {
	return a.Totals(f).SuccessRate()
}

// AvgLatency returns the mean duration of the invocations f matches, or 0
// when f matches none.
func (a *Aggregator) AvgLatency(f Filter) time.Duration {
	return a.Totals(f).AvgLatency()
}

// Totals returns the all-time invocations, errors and duration sum of the
// series f matches, without latency buckets: it is cheaper than
// [Aggregator.Stats], and its Quantile returns 0.
func (a *Aggregator) Totals(f Filter) Stats {
	var st Stats
	a.match(f, func(s *Series) {
		c, e, sum := s.totals()
		st.Invocations += int64(c)
		st.Errors += int64(e)
		st.Sum += time.Duration(sum)
	})
	return st
}

// Stats returns the all-time aggregate of the series f matches, with a
// merged latency sketch for [Stats.Quantile].
func (a *Aggregator) Stats(f Filter) Stats {
	st := Stats{bins: newDense()}
	a.match(f, func(s *Series) {
		e := s.errs.Load()
		st.bins.addHist(&s.hist)
		st.Errors += int64(e)
		st.Sum += time.Duration(s.sum.Load())
	})
	st.Invocations = int64(st.bins.total())
	return st
}

// Quantile returns the q-quantile (0 <= q <= 1) of the durations of every
// invocation f matches, within [RelativeAccuracy]. It returns 0 when f
// matches nothing or q is outside [0, 1]. It merges the matched series'
// sketches: O(series) with a constant of a few thousand buckets.
func (a *Aggregator) Quantile(f Filter, q float64) time.Duration {
	if !(q >= 0 && q <= 1) {
		return 0
	}
	return a.Stats(f).Quantile(q)
}

// TopErrors returns the n most frequent error kinds among the series f
// matches, most frequent first (ties by kind); all kinds when n <= 0.
func (a *Aggregator) TopErrors(f Filter, n int) []ErrorCount {
	m := make(map[string]uint64)
	a.match(f, func(s *Series) { s.kindsInto(m) })
	return topKinds(m, n)
}

// Keys returns the (function, node) pairs of the series f matches, in
// creation order, with the overflow series last once it exists.
func (a *Aggregator) Keys(f Filter) []Filter {
	var out []Filter
	a.match(f, func(s *Series) { out = append(out, Filter{FunctionID: s.fn, NodeID: s.node}) })
	return out
}

// Summary is a JSON-friendly status of an [Aggregator].
type Summary struct {
	Series              int     `json:"series"`               // distinct (function, node) series, overflow excluded
	Functions           int     `json:"functions"`            // distinct function IDs among them
	Nodes               int     `json:"nodes"`                // distinct node IDs among them
	TotalInvocations    int64   `json:"total_invocations"`    // all series, overflow included
	TotalErrors         int64   `json:"total_errors"`         // all series, overflow included
	SuccessRate         float64 `json:"success_rate"`         // percent, 0..100; 0 with no invocation
	AvgLatencyMs        float64 `json:"avg_latency_ms"`       // milliseconds; 0 with no invocation
	OverflowInvocations int64   `json:"overflow_invocations"` // invocations folded into the overflow series
	MaxSeries           int     `json:"max_series"`           // the series limit; -1 when unlimited
}

// Summary returns the aggregator's status. It costs O(series) and no
// quantile computation.
func (a *Aggregator) Summary() Summary {
	a.mu.RLock()
	sum := Summary{Series: len(a.series), Functions: len(a.fns), Nodes: len(a.nodes), MaxSeries: a.maxSeries}
	ov := a.overflow
	a.mu.RUnlock()
	if sum.MaxSeries == int(^uint(0)>>1) {
		sum.MaxSeries = -1
	}
	st := a.Totals(Filter{})
	sum.TotalInvocations, sum.TotalErrors = st.Invocations, st.Errors
	sum.SuccessRate = st.SuccessRate()
	sum.AvgLatencyMs = float64(st.AvgLatency()) / float64(time.Millisecond)
	if ov != nil {
		sum.OverflowInvocations = int64(ov.count.Load())
	}
	return sum
}
