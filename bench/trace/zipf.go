package trace

import (
	"math"
	"math/rand/v2"
)

// Zipf draws integers in [0, n) where rank k is chosen with probability
// proportional to 1/(k+1)^s. Unlike math/rand's Zipf, any exponent s > 0
// is allowed.
//
// A Zipf is not safe for concurrent use.
type Zipf struct {
	r *rand.Rand
	n float64 // number of items, as a float
	s float64 // exponent

	hIntX1 float64 // hInt(1.5) - 1
	hIntN  float64 // hInt(n + 0.5)
	accept float64 // squeeze constant: x values this close to k are accepted at once
}

// NewZipf returns a Zipf over n items with exponent s that draws from r.
// It panics if n is 0 or s is not a positive finite number.
func NewZipf(r *rand.Rand, n uint64, s float64) *Zipf {
	if n == 0 {
		panic("trace: NewZipf with n == 0")
	}
	if !(s > 0) || math.IsInf(s, 0) {
		panic("trace: NewZipf exponent must be positive and finite")
	}
	z := &Zipf{r: r, n: float64(n), s: s}
	z.hIntX1 = z.hInt(1.5) - 1
	z.hIntN = z.hInt(z.n + 0.5)
	z.accept = 2 - z.hIntInv(z.hInt(2.5)-z.h(2))
	return z
}

// Next returns the next rank, in [0, n). Rank 0 is the most popular.
func (z *Zipf) Next() uint64 {
	// Rejection-inversion: draw u uniformly under the integral of the
	// continuous hat function x^-s between 0.5 and n+0.5, invert it, round
	// to the nearest integer k, and accept k if u lies under the step of
	// the true (discrete) density at k.
	for {
		u := z.hIntN + z.r.Float64()*(z.hIntX1-z.hIntN)
		x := z.hIntInv(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.accept || u >= z.hInt(k+0.5)-z.h(k) {
			return uint64(k) - 1
		}
	}
}

// h is the unnormalised density x^-s.
func (z *Zipf) h(x float64) float64 {
	return math.Exp(-z.s * math.Log(x))
}

// hInt is an antiderivative of h: (x^(1-s) - 1) / (1-s), or log x when s
// is 1, written so that it stays accurate when s is close to 1.
func (z *Zipf) hInt(x float64) float64 {
	logX := math.Log(x)
	return expm1OverX((1-z.s)*logX) * logX
}

// hIntInv is the inverse of hInt.
func (z *Zipf) hIntInv(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 {
		// Rounding can push t just past the pole; clamp to stay finite.
		t = -1
	}
	return math.Exp(log1pOverX(t) * x)
}

// expm1OverX is (e^x - 1)/x, continuous at 0.
func expm1OverX(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x/2*(1+x/3*(1+x/4))
}

// log1pOverX is log(1+x)/x, continuous at 0.
func log1pOverX(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(1.0/2-x*(1.0/3-x/4))
}
