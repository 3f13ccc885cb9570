// Package metrics provides an aggregator of function invocations for edge
// nodes: counts, success rates, average and quantile latencies, error
// kinds and recent-window rates, per (function, node) series, with
// snapshots that agents ship to a hub.
//
// # Recording and querying
//
// [New] returns an empty [Aggregator]. [Aggregator.Record] adds one
// [Invocation]; the queries take a [Filter] whose empty fields match every
// value, so one call can ask about a function on every node, a node across
// functions, one exact pair, or everything:
//
//	a := metrics.New()
//	a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "fra-1", Duration: d, Success: err == nil, Error: kind})
//	a.SuccessRate(metrics.Filter{FunctionID: "resize"})   // percent, 0..100
//	a.Quantile(metrics.Filter{NodeID: "fra-1"}, 0.99)     // within 1%
//
// [Aggregator.TotalInvocations], [Aggregator.ErrorCount],
// [Aggregator.SuccessRate] and [Aggregator.AvgLatency] answer 0 when nothing
// matches. An invocation is an error when Success is false; its Error is
// the error kind ([UnknownErrorKind] when empty) and is ignored on success.
// A negative Duration counts as zero. Empty IDs are ordinary values.
//
// # Cost and memory
//
// Each (function, node) pair is one series: atomic counters and a latency
// histogram whose buckets are allocated in blocks of 64 only for the
// durations it has seen (a few KiB for a typical series). Memory is bounded
// by the number of series, never by the number of invocations, and every
// query costs O(series); a filter naming both fields is a map lookup.
// [Options.MaxSeries] (10000 by default) bounds the series: past it, new
// pairs are folded into one overflow series ([OverflowID]), counted in
// [Summary].OverflowInvocations, so memory stays bounded whatever the
// input. Error kinds are bounded per series by [Options.MaxErrorKinds]
// (extra kinds count as [OtherErrorKind]) and truncated to 128 bytes.
// With time windows on (the default), a series also keeps a copy of its
// counters and up to 30 sub-windows of 8 bytes per non-empty bucket;
// [Options.NoWindows] drops that, which suits a hub holding many series.
//
// # The hot path
//
// [Aggregator.Series] resolves a pair to a [*Series] handle once;
// [Series.Observe] then records with three atomic additions, no lock and no
// allocation (an error adds a short per-series lock to count its kind).
// Record costs a map lookup under a read lock and a clock read on top.
// bench/results/metrics.md compares both with client_golang.
//
// # Quantiles
//
// Latencies are counted in the buckets of DDSketch's linearly interpolated
// index mapping at 1% relative accuracy ([RelativeAccuracy]), the mapping
// of github.com/DataDog/sketches-go. Every series shares the layout, so a
// query adds the matched series' buckets and reads the quantile with
// DDSketch's rank rule: [Aggregator.Quantile] returns what one DDSketch fed
// every matched duration would return (the tests compare with sketches-go),
// which is within 1% of a duration recorded at that rank (plus half a
// nanosecond of rounding), for durations up to [MaxTrackedDuration]. The
// mapping is computed in this package, which keeps it free of sketches-go's
// protobuf dependency and lets the hot path inline it. [Aggregator.Stats]
// returns the merged [Stats] when several quantiles are wanted.
//
// # Time windows
//
// Besides all-time totals, [Aggregator.Window] answers rates, error rates
// and quantiles over the last minutes (up to [MaxWindow]), from a ring of
// sub-windows of [WindowStep] per series. Time comes from [Options.Now]
// (time.Now by default). Record, Merge, Window, Snapshot and TakeDelta read
// the clock and close sub-windows as time passes; Series.Observe does not
// read the clock, so its invocations land in the sub-window of the
// aggregator's latest clock read. Something that reads the clock every few
// seconds (a scrape, a delta loop) keeps windows exact to one WindowStep;
// after a longer silence, observed invocations count as older than they are.
//
// # Snapshots, deltas and the hub
//
// [Aggregator.Snapshot] copies every series; [Aggregator.TakeDelta] copies
// what was recorded since the previous TakeDelta and starts a new delta,
// without stopping writers: each invocation lands in exactly one delta.
// [Snapshot.MarshalBinary] encodes a [Snapshot] compactly (varints, sparse
// buckets, a version byte and a CRC-32C); [Snapshot.UnmarshalBinary] checks
// all of it and rejects anything malformed with [ErrInvalidSnapshot]. A
// hub adds snapshots with [Aggregator.Merge]:
//
//	payload, _ := agent.TakeDelta().MarshalBinary() // ship with a de-duplication ID
//	var d metrics.Snapshot
//	if err := d.UnmarshalBinary(payload); err == nil {
//		hub.Merge(d) // merging the same delta twice counts it twice
//	}
//
// Merged invocations count as arriving at the hub now, for the windows.
//
// # Concurrency and copies
//
// Every method of Aggregator and Series is safe for concurrent use.
// Queries read counters without stopping writers, so a query running
// during writes sees each invocation entirely or partly (its count
// before its duration); it never reports more errors than invocations.
// [Stats], [Snapshot], [Summary] and the slices returned are copies the
// caller owns. The package metrics/prom exports an Aggregator to
// Prometheus.
//
// # Caveats
//
// An aggregator never forgets a series: a [*Series] handle stays valid, and
// its series counted, for the aggregator's whole life. Counters are uint64
// and duration sums are in nanoseconds, so a single series wraps after
// about 584 years of summed durations.
package metrics
