package metrics

import "time"

// DefaultMaxSeries is the series limit used when [Options.MaxSeries] is zero.
const DefaultMaxSeries = 10000

// DefaultMaxErrorKinds is the per-series error-kind limit used when
// [Options.MaxErrorKinds] is zero or negative.
const DefaultMaxErrorKinds = 16

// Options configures an [Aggregator]. The zero value is valid: it is what
// [New] uses.
type Options struct {
	// MaxSeries is the number of distinct (function, node) series kept.
	// Past it, invocations of new pairs are counted in the overflow series
	// ([OverflowID]). Zero means DefaultMaxSeries; negative means no limit,
	// which lets memory grow with the number of distinct pairs seen.
	MaxSeries int

	// MaxErrorKinds is the number of distinct error kinds kept per series;
	// further kinds are counted as [OtherErrorKind]. Zero or negative means
	// DefaultMaxErrorKinds.
	MaxErrorKinds int

	// NoWindows turns the time windows off: [Aggregator.Window] then
	// returns zero Stats, and the aggregator keeps no per-series window
	// state (see the package documentation for its cost). False, the zero
	// value, keeps windows on. A hub merging many nodes may prefer it.
	NoWindows bool

	// Now returns the current time, used for the time windows. Nil means
	// time.Now.
	Now func() time.Time
}

func (o Options) maxSeries() int {
	switch {
	case o.MaxSeries == 0:
		return DefaultMaxSeries
	case o.MaxSeries < 0:
		return int(^uint(0) >> 1)
	}
	return o.MaxSeries
}

func (o Options) maxErrorKinds() int {
	if o.MaxErrorKinds <= 0 {
		return DefaultMaxErrorKinds
	}
	return o.MaxErrorKinds
}

func (o Options) now() func() time.Time {
	if o.Now == nil {
		return time.Now
	}
	return o.Now
}
