package prom_test

import (
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/metrics/prom"
)

func Example() {
	agg := metrics.New()
	s := agg.Series("resize", "fra-1")
	for i := range 10 {
		s.Observe(time.Duration(i+1)*100*time.Millisecond, nil)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.New(agg, prom.Options{Quantiles: []float64{0.5}}))
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(os.Stdout, mf); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// # HELP edgeinfra_function_duration_seconds Duration of function invocations in seconds; quantiles cover the recent window, count and sum all time.
	// # TYPE edgeinfra_function_duration_seconds summary
	// edgeinfra_function_duration_seconds{function="resize",node="fra-1",quantile="0.5"} 0.504552718
	// edgeinfra_function_duration_seconds_sum{function="resize",node="fra-1"} 5.5
	// edgeinfra_function_duration_seconds_count{function="resize",node="fra-1"} 10
	// # HELP edgeinfra_function_errors_total Function invocations that failed, by function and node.
	// # TYPE edgeinfra_function_errors_total counter
	// edgeinfra_function_errors_total{function="resize",node="fra-1"} 0
	// # HELP edgeinfra_function_invocations_total Function invocations recorded, by function and node.
	// # TYPE edgeinfra_function_invocations_total counter
	// edgeinfra_function_invocations_total{function="resize",node="fra-1"} 10
}
