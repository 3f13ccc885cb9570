package metrics_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgeinfra/edgeinfra/metrics"
)

func Example() {
	a := metrics.New()
	a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "fra-1", Duration: 12 * time.Millisecond, Success: true})
	a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "ams-1", Duration: 18 * time.Millisecond, Success: true})
	a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "ams-1", Duration: 30 * time.Millisecond, Success: false, Error: "timeout"})

	resize := metrics.Filter{FunctionID: "resize"}
	ams := metrics.Filter{NodeID: "ams-1"}
	fmt.Println("invocations:", a.TotalInvocations(resize))
	fmt.Printf("success rate: %.1f%%\n", a.SuccessRate(resize))
	fmt.Println("average latency:", a.AvgLatency(resize))
	fmt.Println("errors on ams-1:", a.ErrorCount(ams))
	// Output:
	// invocations: 3
	// success rate: 66.7%
	// average latency: 20ms
	// errors on ams-1: 1
}

func ExampleAggregator_Series() {
	a := metrics.New()
	// Resolve the handle once, outside the request path.
	s := a.Series("thumbnail", "fra-1")
	for i := range 100 {
		var err error
		if i%20 == 0 {
			err = errors.New("upstream 503")
		}
		s.Observe(time.Duration(i+1)*time.Millisecond, err)
	}
	f := metrics.Filter{FunctionID: "thumbnail"}
	fmt.Println("p50 ≈", a.Quantile(f, 0.5).Round(time.Millisecond))
	fmt.Println("p99 ≈", a.Quantile(f, 0.99).Round(time.Millisecond))
	fmt.Println("top errors:", a.TopErrors(f, 3))
	// Output:
	// p50 ≈ 50ms
	// p99 ≈ 99ms
	// top errors: [{upstream 503 5}]
}

func ExampleAggregator_TakeDelta() {
	agent, hub := metrics.New(), metrics.New()
	s := agent.Series("auth", "edge-7")

	for round := range 3 {
		for range round + 1 {
			s.Observe(time.Millisecond, nil)
		}
		// Take what was recorded since the last delta and ship it.
		payload, _ := agent.TakeDelta().MarshalBinary()

		// On the hub: decode and merge.
		var delta metrics.Snapshot
		if err := delta.UnmarshalBinary(payload); err != nil {
			fmt.Println(err)
			return
		}
		hub.Merge(delta)
		fmt.Printf("round %d: delta %d, hub total %d\n", round, delta.Invocations(), hub.TotalInvocations(metrics.Filter{}))
	}
	// Output:
	// round 0: delta 1, hub total 1
	// round 1: delta 2, hub total 3
	// round 2: delta 3, hub total 6
}

func ExampleAggregator_Window() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := metrics.NewWithOptions(metrics.Options{Now: func() time.Time { return now }})
	for range 600 {
		a.Record(metrics.Invocation{FunctionID: "f", NodeID: "n", Duration: time.Millisecond, Success: true})
	}
	now = now.Add(4 * time.Minute)
	for range 120 {
		a.Record(metrics.Invocation{FunctionID: "f", NodeID: "n", Duration: 5 * time.Millisecond, Success: true})
	}
	now = now.Add(time.Minute)

	last := a.Window(metrics.Filter{}, time.Minute)
	fmt.Printf("last minute: %d calls, %.0f/s\n", last.Invocations, last.Rate())
	fmt.Printf("last 5 minutes: %d calls over %v\n", a.Window(metrics.Filter{}, 5*time.Minute).Invocations, a.Window(metrics.Filter{}, 5*time.Minute).Span)
	fmt.Println("all time:", a.TotalInvocations(metrics.Filter{}))
	// Output:
	// last minute: 120 calls, 2/s
	// last 5 minutes: 720 calls over 5m0s
	// all time: 720
}

func ExampleNewWithOptions() {
	a := metrics.NewWithOptions(metrics.Options{MaxSeries: 2})
	for _, node := range []string{"a", "b", "c", "d"} {
		a.Record(metrics.Invocation{FunctionID: "f", NodeID: node, Duration: time.Millisecond, Success: true})
	}
	sum := a.Summary()
	fmt.Println("series:", sum.Series, "overflow invocations:", sum.OverflowInvocations)
	// Output:
	// series: 2 overflow invocations: 2
}
