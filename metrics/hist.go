package metrics

import (
	"math"
	"sync/atomic"
	"time"
)

// RelativeAccuracy is the relative error bound of every latency quantile:
// a reported quantile q is within 1% of a duration that was recorded at
// rank q (for durations up to [MaxTrackedDuration]).
const RelativeAccuracy = 0.01

// MaxTrackedDuration is the largest duration the quantile sketches resolve.
// Longer durations count in full towards totals and averages but fall into
// the sketch's last bucket, so a quantile never reports more than about this.
const MaxTrackedDuration = time.Duration(1) << 45 // about 9h46m

// The bucket layout is DDSketch's linearly interpolated index mapping at
// RelativeAccuracy (github.com/DataDog/sketches-go, mapping
// LinearlyInterpolatedMapping, with its default index offset), applied to
// durations in nanoseconds: the integer part of log2 comes from the float's
// exponent and the fraction is interpolated linearly from its significand.
// Bucket 0 holds zero (and negative, clamped) durations; bucket b > 0 is
// the mapping's index b+minIndex-1. Quantiles follow DDSketch's rank rule
// and representative values, so they equal what a DDSketch with that
// mapping fed the same durations returns; the tests check both against
// sketches-go itself. Computing the mapping here keeps the package free of
// sketches-go's protobuf dependency and lets the hot path inline it.
const (
	pageBits = 6
	pageSize = 1 << pageBits
)

var (
	ddMultiplier  = 1 / math.Log2(math.Pow((1+RelativeAccuracy)/(1-RelativeAccuracy), math.Ln2))
	ddIndexOffset = ddMultiplier
	// ddValueFactor turns a bucket's lower bound into its representative
	// value, which is within the mapping's accuracy of the whole bucket.
	ddValueFactor = 1 + (1 - 2/(1+math.Exp(1/ddMultiplier)))

	minIndex = ddIndex(1)
	numBins  = ddIndex(float64(MaxTrackedDuration)) - minIndex + 2
	numPages = (numBins + pageSize - 1) / pageSize
)

// ddIndex is the mapping's index of v > 0.
func ddIndex(v float64) int {
	b := math.Float64bits(v)
	exp := float64(int(b>>52&0x7ff) - 1023)
	frac := math.Float64frombits(b&(1<<52-1)|0x3ff0000000000000) - 1
	i := (exp+frac)*ddMultiplier + ddIndexOffset
	if i >= 0 {
		return int(i)
	}
	return int(i) - 1
}

// ddValue is the representative value of the mapping's index i.
func ddValue(i int) float64 {
	x := (float64(i) - ddIndexOffset) / ddMultiplier
	exp := math.Floor(x)
	return math.Ldexp(x-exp+1, int(exp)) * ddValueFactor
}

// binOf returns the bucket of a duration.
func binOf(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	if d > MaxTrackedDuration {
		d = MaxTrackedDuration
	}
	return ddIndex(float64(d)) - minIndex + 1
}

// page is a block of adjacent bucket counters, allocated on first use so a
// series pays only for the octaves its latencies actually span.
type page [pageSize]atomic.Uint64

// maxPages bounds the page table; init checks numPages fits.
const maxPages = 40

func init() {
	if numPages > maxPages {
		panic("metrics: bucket layout needs more pages than maxPages")
	}
}

// atomicHist is a lock-free histogram over the shared bucket layout.
type atomicHist struct {
	pages [maxPages]atomic.Pointer[page]
}

// add adds n to bucket b.
func (h *atomicHist) add(b int, n uint64) {
	p := h.pages[b>>pageBits].Load()
	if p == nil {
		p = h.grow(b >> pageBits)
	}
	p[b&(pageSize-1)].Add(n)
}

// addBins adds sorted bins, loading each page once.
func (h *atomicHist) addBins(bins []bin) {
	var p *page
	pi := -1
	for _, b := range bins {
		if i := int(b.idx >> pageBits); i != pi {
			p = h.pages[i].Load()
			if p == nil {
				p = h.grow(i)
			}
			pi = i
		}
		p[b.idx&(pageSize-1)].Add(b.n)
	}
}

func (h *atomicHist) grow(i int) *page {
	np := new(page)
	if h.pages[i].CompareAndSwap(nil, np) {
		return np
	}
	return h.pages[i].Load()
}

// bin is one non-empty bucket of a sparse histogram.
type bin struct {
	idx uint32
	n   uint64
}

// dense is a plain histogram used to merge series at query time. Like
// atomicHist it allocates pages only for the buckets it is given.
type dense struct {
	pages [maxPages]*[pageSize]uint64
}

func newDense() *dense { return new(dense) }

func (d *dense) add(idx int, n uint64) {
	p := d.pages[idx>>pageBits]
	if p == nil {
		p = new([pageSize]uint64)
		d.pages[idx>>pageBits] = p
	}
	p[idx&(pageSize-1)] += n
}

func (d *dense) addHist(h *atomicHist) {
	for i := range numPages {
		p := h.pages[i].Load()
		if p == nil {
			continue
		}
		dp := d.pages[i]
		if dp == nil {
			dp = new([pageSize]uint64)
			d.pages[i] = dp
		}
		for j := range p {
			dp[j] += p[j].Load()
		}
	}
}

func (d *dense) addBins(bins []bin) {
	for _, b := range bins {
		d.add(int(b.idx), b.n)
	}
}

// quantile returns the q-quantile of the durations counted in d, with
// DDSketch's rule: the bucket holding rank q*(n-1), read as its
// representative value. It returns 0 when d is empty or q is outside [0, 1].
func (d *dense) quantile(q float64) time.Duration {
	if d == nil || !(q >= 0 && q <= 1) {
		return 0
	}
	total := d.total()
	if total == 0 {
		return 0
	}
	rank := float64(q * float64(total-1))
	var seen float64
	last := 0
	for i, p := range d.pages {
		if p == nil {
			continue
		}
		for j, n := range p {
			if n == 0 {
				continue
			}
			last = i<<pageBits + j
			seen += float64(n)
			if seen > rank {
				return durationOf(last)
			}
		}
	}
	return durationOf(last)
}

func durationOf(b int) time.Duration {
	if b == 0 {
		return 0
	}
	v := ddValue(b + minIndex - 1)
	if v >= float64(math.MaxInt64) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Round(v))
}

// total returns the sum of d's buckets.
func (d *dense) total() uint64 {
	var n uint64
	for _, p := range d.pages {
		if p == nil {
			continue
		}
		for _, c := range p {
			n += c
		}
	}
	return n
}
