package trace

// Size selects how large the standard traces are.
type Size int

const (
	// Small traces (10,000 keys, 200,000 accesses each) replay in well
	// under a second per cache; they are the default for CI.
	Small Size = iota
	// Long traces (100,000 keys, 5,000,000 accesses each) give steadier
	// ratios for published numbers; the whole suite takes minutes.
	Long
)

// params returns the number of distinct hot keys and the accesses per
// trace for a size.
func (sz Size) params() (items, length int) {
	if sz == Long {
		return 100_000, 5_000_000
	}
	return 10_000, 200_000
}

// Capacities returns the cache sizes the standard traces are replayed at:
// 1%, 5%, 10% and 25% of the trace's hot keys.
func Capacities(sz Size) []int {
	items, _ := sz.params()
	return []int{items / 100, items / 20, items / 10, items / 4}
}

// Suite returns the standard traces, in a fixed order:
//
//   - zipf-0.7, zipf-0.9, zipf-1.1: [ZipfTrace] at three skews;
//   - scan: [ScanTrace] with a Zipf(0.9) hot set and, after every
//     `items` hot accesses, a burst of items/4 one-time keys, as large as
//     the largest capacity, so about a fifth of all accesses are a scan;
//   - shift: [ShiftTrace] with Zipf(0.9) over 5 phases;
//   - loop: [LoopTrace] over items/2 keys, more than the largest capacity.
//
// The traces are generated on each call; keep the result if it is needed
// more than once.
func Suite(sz Size) []Trace {
	items, length := sz.params()
	return []Trace{
		ZipfTrace(1, items, 0.7, length),
		ZipfTrace(2, items, 0.9, length),
		ZipfTrace(3, items, 1.1, length),
		ScanTrace(4, items, 0.9, items/4, items, length),
		ShiftTrace(5, items, 0.9, 5, length),
		LoopTrace(items/2, length),
	}
}
