package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile uses DDSketch's rank convention: the value at rank
// floor(q*(n-1)) of the sorted durations.
func exactQuantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[int(q*float64(len(sorted)-1))]
}

func relErr(got, want time.Duration) float64 {
	if want == 0 {
		if got == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Abs(float64(got-want)) / float64(want)
}

func TestQuantileRelativeError(t *testing.T) {
	dists := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"log-uniform 1ns..10s", func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.Float64() * math.Log(1e10)))
		}},
		{"exponential mean 5ms", func(r *rand.Rand) time.Duration {
			return time.Duration(r.ExpFloat64()*5e6) + 1
		}},
		{"normal 100ms ± 5ms", func(r *rand.Rand) time.Duration {
			return time.Duration(max(1, r.NormFloat64()*5e6+1e8))
		}},
		{"bimodal cache hit/miss", func(r *rand.Rand) time.Duration {
			if r.IntN(10) < 9 {
				return time.Duration(200_000 + r.IntN(50_000))
			}
			return time.Duration(40e6 + r.IntN(20e6))
		}},
	}
	qs := []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}
	for _, dist := range dists {
		t.Run(dist.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			a := New()
			all := make([]time.Duration, 0, 30000)
			byNode := map[string][]time.Duration{}
			nodes := []string{"n1", "n2", "n3"}
			for i := range 30000 {
				d := dist.gen(r)
				node := nodes[i%len(nodes)]
				a.Series("f", node).Observe(d, nil)
				all = append(all, d)
				byNode[node] = append(byNode[node], d)
			}
			slices.Sort(all)
			for _, q := range qs {
				got, want := a.Quantile(Filter{}, q), exactQuantile(all, q)
				if e := relErr(got, want); e > RelativeAccuracy {
					t.Errorf("merged Quantile(%v) = %v, exact %v: relative error %.4f > %v", q, got, want, e, RelativeAccuracy)
				}
			}
			vals := byNode["n2"]
			slices.Sort(vals)
			for _, q := range qs {
				got, want := a.Quantile(Filter{NodeID: "n2"}, q), exactQuantile(vals, q)
				if e := relErr(got, want); e > RelativeAccuracy {
					t.Errorf("series Quantile(%v) = %v, exact %v: relative error %.4f", q, got, want, e)
				}
			}
		})
	}
}

func TestQuantileEdges(t *testing.T) {
	a := New()
	s := a.Series("f", "n")
	s.Observe(0, nil)
	s.Observe(0, nil)
	s.Observe(100*MaxTrackedDuration, nil)
	tests := []struct {
		name string
		q    float64
		want time.Duration
		tol  float64
	}{
		{"zero durations", 0, 0, 0},
		{"median is zero", 0.5, 0, 0},
		{"huge durations clamp", 1, MaxTrackedDuration, RelativeAccuracy},
		{"q below 0", -0.1, 0, 0},
		{"q above 1", 1.1, 0, 0},
		{"NaN", math.NaN(), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.Quantile(Filter{}, tt.q)
			if e := relErr(got, tt.want); e > tt.tol {
				t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
	if got := a.Quantile(Filter{FunctionID: "none"}, 0.5); got != 0 {
		t.Errorf("Quantile of no series = %v, want 0", got)
	}
}

// TestEveryBucketWithinAccuracy checks the bucket layout itself: every
// duration's bucket reports a value within RelativeAccuracy of it, plus the
// half nanosecond lost rounding to a time.Duration.
func TestEveryBucketWithinAccuracy(t *testing.T) {
	for d := time.Duration(1); d < MaxTrackedDuration; d = d*1013/1000 + 1 {
		h := newDense()
		h.add(binOf(d), 1)
		if e := relErr(h.quantile(0.5), d); e > RelativeAccuracy+0.5/float64(d) {
			t.Fatalf("duration %v reads back as %v: relative error %.5f", d, h.quantile(0.5), e)
		}
	}
}
