package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// The package computes DDSketch's linearly interpolated mapping itself;
// these tests hold it to sketches-go's implementation.

func referenceMapping(t *testing.T) *mapping.LinearlyInterpolatedMapping {
	t.Helper()
	m, err := mapping.NewLinearlyInterpolatedMapping(RelativeAccuracy)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMappingMatchesDDSketch(t *testing.T) {
	m := referenceMapping(t)
	if got, want := 1/ddMultiplier, math.Log2(math.Pow((1+RelativeAccuracy)/(1-RelativeAccuracy), math.Ln2)); got != want {
		t.Fatalf("log2(gamma) = %v, want %v", got, want)
	}
	if !approx(ddValueFactor-1, m.RelativeAccuracy(), 1e-15) {
		t.Errorf("relative accuracy %v, sketches-go %v", ddValueFactor-1, m.RelativeAccuracy())
	}
	check := func(d time.Duration) {
		if got, want := ddIndex(float64(d)), m.Index(float64(d)); got != want {
			t.Fatalf("index of %dns = %d, sketches-go %d", d, got, want)
		}
		i := ddIndex(float64(d))
		if got, want := ddValue(i), m.Value(i); got != want {
			t.Fatalf("value of index %d = %v, sketches-go %v", i, got, want)
		}
	}
	for d := time.Duration(1); d <= MaxTrackedDuration; d = d*1009/1000 + 1 {
		check(d)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		check(time.Duration(r.Int64N(int64(MaxTrackedDuration))) + 1)
	}
}

func TestQuantileMatchesDDSketch(t *testing.T) {
	m := referenceMapping(t)
	r := rand.New(rand.NewPCG(5, 6))
	for round := range 20 {
		a := New()
		sk := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
		n := 1 + r.IntN(5000)
		for i := range n {
			d := time.Duration(math.Exp(r.Float64() * 22))
			if i%97 == 0 {
				d = 0
			}
			a.Series("f", []string{"a", "b", "c"}[i%3]).Observe(d, nil)
			if err := sk.Add(float64(d)); err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range []float64{0, 0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
			want, err := sk.GetValueAtQuantile(q)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Quantile(Filter{}, q); got != time.Duration(math.Round(want)) {
				t.Errorf("round %d, n %d: Quantile(%v) = %v, DDSketch %v", round, n, q, got, want)
			}
		}
	}
}
