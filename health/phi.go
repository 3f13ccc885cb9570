package health

import (
	"math"
	"time"
)

// phiWindow keeps a node's newest heartbeat intervals for phi-accrual
// failure detection (Hayashibara et al.; the variant of Akka and Cassandra
// with a logistic approximation of the normal distribution).
type phiWindow struct {
	vals       []float64 // seconds, a ring
	next, n    int
	sum, sumSq float64
}

func (w *phiWindow) reset() { w.next, w.n, w.sum, w.sumSq = 0, 0, 0, 0 }

func (w *phiWindow) add(d time.Duration) {
	x := d.Seconds()
	if w.n == len(w.vals) {
		old := w.vals[w.next]
		w.sum -= old
		w.sumSq -= old * old
	} else {
		w.n++
	}
	w.vals[w.next] = x
	w.next = (w.next + 1) % len(w.vals)
	w.sum += x
	w.sumSq += x * x
}

func (w *phiWindow) stats(minStd time.Duration) (mean, std float64) {
	mean = w.sum / float64(w.n)
	v := w.sumSq/float64(w.n) - mean*mean
	std = math.Sqrt(max(v, 0))
	return mean, max(std, minStd.Seconds())
}

// phi returns the suspicion that a node silent for elapsed has failed:
// -log10 of the probability that a heartbeat comes later still.
func (w *phiWindow) phi(elapsed, minStd time.Duration) float64 {
	mean, std := w.stats(minStd)
	return phiOf(elapsed.Seconds(), mean, std)
}

func phiOf(t, mean, std float64) float64 {
	y := (t - mean) / std
	e := math.Exp(-y * (1.5976 + 0.070566*y*y))
	var p float64
	if t > mean {
		p = e / (1 + e)
	} else {
		p = 1 - 1/(1+e)
	}
	if p <= 0 {
		return math.MaxFloat64
	}
	return -math.Log10(p)
}

// suspectAfter returns the silence at which phi reaches threshold, found by
// bisection (phi grows with the silence).
func (w *phiWindow) suspectAfter(threshold float64, minStd time.Duration) time.Duration {
	mean, std := w.stats(minStd)
	lo, hi := 0.0, mean+std
	for phiOf(hi, mean, std) < threshold && hi < 1e6 {
		hi *= 2
	}
	for range 40 {
		mid := (lo + hi) / 2
		if phiOf(mid, mean, std) < threshold {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Duration(hi * float64(time.Second))
}
