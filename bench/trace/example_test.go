package trace_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/edgeinfra/edgeinfra/bench/trace"
)

// Replay a trace against a simple map-backed cache and print its hit ratio.
func Example() {
	tr := trace.LoopTrace(4, 12) // 0 1 2 3 0 1 2 3 0 1 2 3
	seen := map[uint64]bool{}
	hits := 0
	for _, k := range tr.Keys {
		if seen[k] {
			hits++
		}
		seen[k] = true
	}
	fmt.Printf("%s: %d accesses, %d distinct, %d hits\n", tr.Name, len(tr.Keys), tr.Distinct(), hits)
	// Output: loop: 12 accesses, 4 distinct, 8 hits
}

// Draw Zipf ranks with an exponent below 1, which math/rand's Zipf cannot.
func ExampleZipf() {
	z := trace.NewZipf(rand.New(rand.NewPCG(1, 2)), 1000, 0.7)
	top := 0
	for range 10_000 {
		if z.Next() < 10 {
			top++
		}
	}
	fmt.Println("the 10 most popular of 1000 keys get more than 10% of the draws:", top > 1000)
	// Output: the 10 most popular of 1000 keys get more than 10% of the draws: true
}

func ExampleSuite() {
	for _, tr := range trace.Suite(trace.Small) {
		fmt.Println(tr.Name, len(tr.Keys))
	}
	fmt.Println("capacities:", trace.Capacities(trace.Small))
	// Output:
	// zipf-0.7 200000
	// zipf-0.9 200000
	// zipf-1.1 200000
	// scan 200000
	// shift 200000
	// loop 200000
	// capacities: [100 500 1000 2500]
}
