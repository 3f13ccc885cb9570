package metrics

// Select returns a snapshot of the series of s for which keep returns
// true, in the same order. It lets a receiver refuse some series of a
// snapshot (unknown functions, a sender over its series quota) and merge
// the rest. The result shares the series' contents with s, which is safe
// because a Snapshot is never modified after it is made.
func (s Snapshot) Select(keep func(Filter) bool) Snapshot {
	var out Snapshot
	for i := range s.series {
		ss := &s.series[i]
		if keep(Filter{FunctionID: ss.fn, NodeID: ss.node}) {
			out.series = append(out.series, *ss)
		}
	}
	return out
}
