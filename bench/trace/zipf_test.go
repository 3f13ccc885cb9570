package trace

import (
	"math"
	"math/rand/v2"
	"testing"
)

// zipfPMF returns the exact Zipf probabilities of ranks 0..n-1.
func zipfPMF(n int, s float64) []float64 {
	p := make([]float64, n)
	var sum float64
	for k := range p {
		p[k] = math.Pow(float64(k+1), -s)
		sum += p[k]
	}
	for k := range p {
		p[k] /= sum
	}
	return p
}

func TestZipfMatchesDistribution(t *testing.T) {
	tests := []struct {
		name string
		n    uint64
		s    float64
	}{
		{"mild", 1000, 0.7},
		{"near-one-below", 1000, 0.99},
		{"one", 1000, 1.0},
		{"strong", 1000, 1.1},
		{"very-strong", 1000, 2.0},
		{"tiny", 3, 0.5},
		{"single", 1, 0.9},
	}
	const draws = 400_000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := NewZipf(rand.New(rand.NewPCG(7, 7)), tt.n, tt.s)
			counts := make([]int, tt.n)
			for range draws {
				k := z.Next()
				if k >= tt.n {
					t.Fatalf("Next() = %d, want < %d", k, tt.n)
				}
				counts[k]++
			}
			want := zipfPMF(int(tt.n), tt.s)
			// The head ranks carry most of the mass; each must be within
			// 5 standard deviations of its binomial expectation.
			for k := 0; k < len(want) && k < 20; k++ {
				mean := want[k] * draws
				sd := math.Sqrt(draws * want[k] * (1 - want[k]))
				if d := math.Abs(float64(counts[k]) - mean); d > 5*sd+1 {
					t.Errorf("rank %d: %d draws, want %.0f ± %.0f", k, counts[k], mean, 5*sd)
				}
			}
			// The tail as a whole must also match, so the sampler does not
			// pile mass onto the head.
			var tail, wantTail float64
			for k := 20; k < len(want); k++ {
				tail += float64(counts[k])
				wantTail += want[k] * draws
			}
			if wantTail > 0 && math.Abs(tail-wantTail) > 0.02*draws {
				t.Errorf("ranks >= 20: %.0f draws, want about %.0f", tail, wantTail)
			}
		})
	}
}

func TestZipfDeterministic(t *testing.T) {
	a := NewZipf(rand.New(rand.NewPCG(1, 2)), 1<<20, 0.9)
	b := NewZipf(rand.New(rand.NewPCG(1, 2)), 1<<20, 0.9)
	for i := range 1000 {
		if x, y := a.Next(), b.Next(); x != y {
			t.Fatalf("draw %d: %d != %d with the same seed", i, x, y)
		}
	}
}

func TestNewZipfPanics(t *testing.T) {
	tests := []struct {
		name string
		n    uint64
		s    float64
	}{
		{"zero items", 0, 1},
		{"zero exponent", 10, 0},
		{"negative exponent", 10, -1},
		{"NaN exponent", 10, math.NaN()},
		{"infinite exponent", 10, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewZipf(%d, %v) did not panic", tt.n, tt.s)
				}
			}()
			NewZipf(rand.New(rand.NewPCG(1, 1)), tt.n, tt.s)
		})
	}
}

func FuzzZipfInRange(f *testing.F) {
	f.Add(uint64(1), 1.0, uint64(1))
	f.Add(uint64(10), 0.01, uint64(2))
	f.Add(uint64(1<<40), 3.5, uint64(3))
	f.Add(uint64(2), 1e-9, uint64(4))
	f.Fuzz(func(t *testing.T, n uint64, s float64, seed uint64) {
		if n == 0 || !(s > 0) || s > 50 || math.IsInf(s, 0) {
			t.Skip()
		}
		z := NewZipf(rand.New(rand.NewPCG(seed, seed)), n, s)
		for range 64 {
			if k := z.Next(); k >= n {
				t.Fatalf("NewZipf(%d, %v).Next() = %d, out of range", n, s, k)
			}
		}
	})
}
