package metrics

import "time"

// Snapshot is a self-contained copy of some or all series of an
// [Aggregator]: counts, errors by kind, duration sums and latency buckets.
// It is a value that shares nothing with the aggregator it came from;
// encode it with [Snapshot.MarshalBinary] and add it to another aggregator
// with [Aggregator.Merge].
type Snapshot struct {
	series []seriesSnapshot
}

type seriesSnapshot struct {
	fn, node string
	errs     uint64
	sum      uint64 // nanoseconds
	bins     []bin  // sorted by idx, counts > 0
	kinds    []kindCount
}

type kindCount struct {
	kind string
	n    uint64
}

func (s *seriesSnapshot) count() uint64 {
	var n uint64
	for _, b := range s.bins {
		n += b.n
	}
	return n
}

// Len returns the number of series in the snapshot.
func (s Snapshot) Len() int { return len(s.series) }

// Invocations returns the number of invocations the snapshot holds.
func (s Snapshot) Invocations() int64 {
	var n uint64
	for i := range s.series {
		n += s.series[i].count()
	}
	return int64(n)
}

// Errors returns the number of failed invocations the snapshot holds.
func (s Snapshot) Errors() int64 {
	var n uint64
	for i := range s.series {
		n += s.series[i].errs
	}
	return int64(n)
}

// Keys returns the (function, node) pair of each series in the snapshot.
func (s Snapshot) Keys() []Filter {
	out := make([]Filter, len(s.series))
	for i := range s.series {
		out[i] = Filter{FunctionID: s.series[i].fn, NodeID: s.series[i].node}
	}
	return out
}

func fromDelta(s *Series, d *delta) seriesSnapshot {
	ss := seriesSnapshot{fn: s.fn, node: s.node, errs: d.errs, sum: d.sum}
	if len(d.bins) > 0 {
		ss.bins = append([]bin(nil), d.bins...)
	}
	if len(d.kinds) > 0 {
		ss.kinds = make([]kindCount, 0, len(d.kinds))
		for _, ec := range topKinds(d.kinds, 0) {
			ss.kinds = append(ss.kinds, kindCount{kind: ec.Kind, n: uint64(ec.Count)})
		}
	}
	return ss
}

// Snapshot returns a copy of everything recorded so far, one entry per
// series (the overflow series included), in creation order.
func (a *Aggregator) Snapshot() Snapshot {
	a.tick()
	var (
		zero cursor
		d    delta
		out  Snapshot
	)
	for _, s := range a.snapshotList() {
		zero.take(s, &d, false, true)
		if d.empty() {
			continue
		}
		out.series = append(out.series, fromDelta(s, &d))
	}
	return out
}

// TakeDelta returns what was recorded since the previous TakeDelta (or
// since the aggregator was created) and starts a new delta. Series with
// nothing new are left out, so an idle aggregator returns an empty
// Snapshot (Len() == 0).
//
// Every invocation lands in exactly one delta: summing all deltas ever
// taken gives exactly [Aggregator.Snapshot], with nothing lost or counted
// twice, even while other goroutines record. A single delta is taken
// counter by counter without stopping writers, so an invocation recorded
// during the call may have its count in this delta and its duration or
// error kind in the next; totals over consecutive deltas are exact.
//
// An agent that ships deltas must not drop one it took: if sending fails,
// keep it and [Aggregator.Merge] it into the next one, or resend it under
// the same de-duplication ID.
func (a *Aggregator) TakeDelta() Snapshot {
	a.tick()
	a.deltaMu.Lock()
	defer a.deltaMu.Unlock()
	var (
		d   delta
		out Snapshot
	)
	for _, s := range a.snapshotList() {
		if s.delta == nil {
			s.delta = new(cursor)
		}
		s.delta.take(s, &d, true, true)
		if d.empty() && len(d.kinds) == 0 {
			continue
		}
		out.series = append(out.series, fromDelta(s, &d))
	}
	return out
}

// Merge adds every series of snap to the aggregator, as if its invocations
// had been recorded here now: they count in all-time totals and in the
// current time window. Series are subject to [Options.MaxSeries] and
// error kinds to [Options.MaxErrorKinds]. Merging a snapshot twice counts
// it twice; de-duplicating deliveries is the caller's job. For series
// that exist already Merge takes only a read lock and atomic additions, so
// a hub can merge from one goroutine per core.
func (a *Aggregator) Merge(snap Snapshot) {
	if len(snap.series) == 0 {
		return
	}
	a.tick()
	for i := range snap.series {
		ss := &snap.series[i]
		s := a.Series(ss.fn, ss.node)
		s.hist.addBins(ss.bins)
		s.count.Add(ss.count())
		s.sum.Add(ss.sum)
		for _, k := range ss.kinds {
			s.addKind(k.kind, k.n)
		}
		s.errs.Add(ss.errs)
	}
}

// Stats returns the aggregate of the series of the snapshot that f
// matches, like [Aggregator.Stats].
func (s Snapshot) Stats(f Filter) Stats {
	st := Stats{bins: newDense()}
	for i := range s.series {
		ss := &s.series[i]
		if (f.FunctionID != "" && f.FunctionID != ss.fn) || (f.NodeID != "" && f.NodeID != ss.node) {
			continue
		}
		st.bins.addBins(ss.bins)
		st.Errors += int64(ss.errs)
		st.Sum += time.Duration(ss.sum)
	}
	st.Invocations = int64(st.bins.total())
	return st
}
