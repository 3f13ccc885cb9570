package metrics

import (
	"math"
	"time"
)

// WindowStep is the resolution of the time windows: the aggregator keeps
// one sub-window of counts and latency buckets per WindowStep per series.
const WindowStep = 10 * time.Second

// MaxWindow is the longest window [Aggregator.Window] can answer.
const MaxWindow = 5 * time.Minute

const ringLen = int64(MaxWindow / WindowStep)

// Stats is an aggregate over the series a [Filter] matched, all-time (from
// [Aggregator.Stats]) or over a recent window (from [Aggregator.Window]).
// It is a value: it does not change after it is returned.
type Stats struct {
	Invocations int64
	Errors      int64
	Sum         time.Duration // total duration of the invocations
	// Span is the time a window actually covers (at most the requested
	// length, less when the aggregator is younger); 0 for all-time Stats.
	Span time.Duration

	bins *dense // merged latency buckets; nil when not computed
}

// SuccessRate returns the percentage (0..100) of successful invocations, or
// 0 when there were none. A single delta [Snapshot] may hold an error whose
// invocation was counted in the previous delta; the rate never goes below 0.
func (s Stats) SuccessRate() float64 {
	if s.Invocations == 0 || s.Errors >= s.Invocations {
		return 0
	}
	return 100 * float64(s.Invocations-s.Errors) / float64(s.Invocations)
}

// AvgLatency returns the mean duration, or 0 when there were no invocations.
func (s Stats) AvgLatency() time.Duration {
	if s.Invocations == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Invocations)
}

// Rate returns invocations per second over Span, or 0 when Span is 0.
func (s Stats) Rate() float64 {
	if s.Span <= 0 {
		return 0
	}
	return float64(s.Invocations) / s.Span.Seconds()
}

// ErrorRate returns errors per second over Span, or 0 when Span is 0.
func (s Stats) ErrorRate() float64 {
	if s.Span <= 0 {
		return 0
	}
	return float64(s.Errors) / s.Span.Seconds()
}

// Quantile returns the q-quantile of the durations, within
// [RelativeAccuracy]; 0 when there were none or q is outside [0, 1].
func (s Stats) Quantile(q float64) time.Duration { return s.bins.quantile(q) }

// window is a series' ring of sub-windows.
type window struct {
	cur  cursor // counts as of the start of the current sub-window
	ring [ringLen]slot
}

type slot struct {
	epoch     int64 // sub-window index; math.MinInt64 when unused
	errs, sum uint64
	bins      []slotBin
}

// slotBin is a compact bin: a sub-window cannot hold 2^32 invocations in
// one bucket at any rate a node reaches, and saturates if it did.
type slotBin struct {
	idx uint16
	n   uint32
}

func compactBins(dst []slotBin, src []bin) []slotBin {
	dst = dst[:0]
	for _, b := range src {
		dst = append(dst, slotBin{idx: uint16(b.idx), n: uint32(min(b.n, math.MaxUint32))})
	}
	return dst
}

func newWindow() *window {
	w := new(window)
	for i := range w.ring {
		w.ring[i].epoch = math.MinInt64
	}
	return w
}

func epochOf(t time.Time) int64 {
	ns := t.UnixNano()
	e := ns / int64(WindowStep)
	if ns%int64(WindowStep) < 0 {
		e--
	}
	return e
}

// tick closes the current sub-window when the clock has left it.
func (a *Aggregator) tick() {
	if a.noWindows {
		return
	}
	now := a.now()
	if now.UnixNano() < a.nextRotate.Load() {
		return
	}
	a.winMu.Lock()
	a.rotateLocked(now)
	a.winMu.Unlock()
}

// rotateLocked closes the current sub-window if now is past it: whatever
// each series gained since the last rotation becomes the sub-window of
// a.epoch. a.winMu must be held.
func (a *Aggregator) rotateLocked(now time.Time) {
	e := epochOf(now)
	if e <= a.epoch {
		return
	}
	var d delta
	for _, s := range a.snapshotList() {
		w := s.win
		if w == nil {
			w = newWindow()
			s.win = w
		}
		sl := &w.ring[mod(a.epoch, ringLen)]
		w.cur.take(s, &d, true, false)
		bins := compactBins(sl.bins, d.bins)
		if len(bins) == 0 {
			bins = nil
		}
		*sl = slot{epoch: a.epoch, errs: d.errs, sum: d.sum, bins: bins}
	}
	a.epoch = e
	a.nextRotate.Store((e + 1) * int64(WindowStep))
}

func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}

// Window returns the aggregate of the invocations f matches over the last
// `last` (rounded up to a multiple of [WindowStep], at most [MaxWindow]):
// the current sub-window so far plus the last/WindowStep whole ones before
// it, so the covered time is between last and last+WindowStep (less while
// the aggregator is younger); Stats.Span says exactly, and Stats.Rate
// divides by it. It returns zero Stats when last <= 0 or the aggregator
// was created with [Options.NoWindows].
//
// Invocations given to [Aggregator.Record] or [Aggregator.Merge] are placed
// in the sub-window of the time they arrive. [Series.Observe] does not read
// the clock; its invocations are placed in the sub-window of the
// aggregator's latest clock read (any Record, Merge, Window, Snapshot or
// TakeDelta call), so their placement is exact when such a call happens at
// least once per WindowStep, and after a longer silence they count as
// older than they are.
func (a *Aggregator) Window(f Filter, last time.Duration) Stats {
	if last <= 0 || a.noWindows {
		return Stats{}
	}
	last = min(last, MaxWindow)
	k := int64((last + WindowStep - 1) / WindowStep)
	now := a.now()

	a.winMu.Lock()
	defer a.winMu.Unlock()
	a.rotateLocked(now)
	first := a.epoch - k
	st := Stats{bins: newDense()}
	var d delta
	a.match(f, func(s *Series) {
		w := s.win
		if w == nil {
			w = newWindow()
			s.win = w
		}
		for i := range w.ring {
			sl := &w.ring[i]
			if sl.epoch >= first && sl.epoch < a.epoch {
				st.Errors += int64(sl.errs)
				st.Sum += time.Duration(sl.sum)
				for _, b := range sl.bins {
					st.bins.add(int(b.idx), uint64(b.n))
				}
			}
		}
		w.cur.take(s, &d, false, false)
		st.Errors += int64(d.errs)
		st.Sum += time.Duration(d.sum)
		st.bins.addBins(d.bins)
	})
	st.Invocations = int64(st.bins.total())
	start := time.Unix(0, first*int64(WindowStep))
	if start.Before(a.created) {
		start = a.created
	}
	st.Span = now.Sub(start)
	if st.Span <= 0 {
		st.Span = 0
	}
	return st
}
