package bench_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgeinfra/edgeinfra/metrics"
	"github.com/edgeinfra/edgeinfra/metrics/prom"
)

// metricsDurations is a fixed spread of latencies (1µs..~65ms) so every
// recorder sees the same values and touches several histogram buckets.
var metricsDurations = func() []time.Duration {
	d := make([]time.Duration, 1024)
	for i := range d {
		d[i] = time.Duration(1+(i*7919)%65536) * time.Microsecond
	}
	return d
}()

var errMetricsBench = errors.New("boom")

// BenchmarkMetricsRecord compares one recorded latency across recorders,
// serially and from every core at once.
func BenchmarkMetricsRecord(b *testing.B) {
	recorders := []struct {
		name string
		new  func() func(i int)
	}{
		{"edgeinfra/Series.Observe", func() func(int) {
			s := metrics.New().Series("resize", "fra-1")
			return func(i int) { s.Observe(metricsDurations[i&1023], nil) }
		}},
		{"edgeinfra/Aggregator.Record", func() func(int) {
			a := metrics.New()
			return func(i int) {
				a.Record(metrics.Invocation{FunctionID: "resize", NodeID: "fra-1", Duration: metricsDurations[i&1023], Success: true})
			}
		}},
		{"client_golang/Histogram.Observe", func() func(int) {
			h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "d", Buckets: prometheus.DefBuckets})
			return func(i int) { h.Observe(metricsDurations[i&1023].Seconds()) }
		}},
		{"client_golang/HistogramVec.WithLabelValues.Observe", func() func(int) {
			h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Buckets: prometheus.DefBuckets}, []string{"function", "node"})
			return func(i int) { h.WithLabelValues("resize", "fra-1").Observe(metricsDurations[i&1023].Seconds()) }
		}},
		{"client_golang/Summary.Observe", func() func(int) {
			s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "d", Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}})
			return func(i int) { s.Observe(metricsDurations[i&1023].Seconds()) }
		}},
		{"sketches-go/DDSketch.Add (not thread-safe)", func() func(int) {
			sk, _ := ddsketch.NewDefaultDDSketch(0.01)
			return func(i int) { _ = sk.Add(float64(metricsDurations[i&1023])) }
		}},
	}
	for _, r := range recorders {
		b.Run(r.name+"/serial", func(b *testing.B) {
			rec := r.new()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				rec(i)
				i++
			}
		})
		if r.name == "sketches-go/DDSketch.Add (not thread-safe)" {
			continue
		}
		b.Run(r.name+"/parallel", func(b *testing.B) {
			rec := r.new()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					rec(i)
					i++
				}
			})
		})
	}
}

// BenchmarkMetricsObserveError is the error path: the kind is counted
// under the series' own lock.
func BenchmarkMetricsObserveError(b *testing.B) {
	s := metrics.New().Series("resize", "fra-1")
	b.ReportAllocs()
	for b.Loop() {
		s.Observe(time.Millisecond, errMetricsBench)
	}
}

// metricsFleet returns an aggregator with n series of 200 invocations.
func metricsFleet(n int) *metrics.Aggregator {
	a := metrics.NewWithOptions(metrics.Options{MaxSeries: -1})
	for i := range n {
		s := a.Series(fmt.Sprint("fn-", i%10), fmt.Sprint("node-", i))
		for j := range 200 {
			s.Observe(metricsDurations[(i+j)&1023], nil)
		}
	}
	return a
}

// BenchmarkMetricsQuantile merges every series' sketch for one quantile.
func BenchmarkMetricsQuantile(b *testing.B) {
	for _, n := range []int{100, 10000} {
		a := metricsFleet(n)
		b.Run(fmt.Sprint("series=", n, "/all"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Quantile(metrics.Filter{}, 0.99)
			}
		})
		b.Run(fmt.Sprint("series=", n, "/one-function"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Quantile(metrics.Filter{FunctionID: "fn-3"}, 0.99)
			}
		})
		b.Run(fmt.Sprint("series=", n, "/TotalInvocations"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.TotalInvocations(metrics.Filter{})
			}
		})
	}
}

// metricsNodeDeltas returns one encoded delta per node, each with fns
// series of 200 invocations spread over 1µs..65ms (about 140 distinct
// buckets per series, a pessimistic spread) and 2% errors.
func metricsNodeDeltas(nodes, fns int) [][]byte {
	payloads := make([][]byte, nodes)
	for i := range payloads {
		a := metrics.New()
		for f := range fns {
			s := a.Series(fmt.Sprint("fn-", f), fmt.Sprint("node-", i))
			for j := range 200 {
				var err error
				if j%50 == 0 {
					err = errMetricsBench
				}
				s.Observe(metricsDurations[(i+j)&1023], err)
			}
		}
		payloads[i], _ = a.TakeDelta().MarshalBinary()
	}
	return payloads
}

// BenchmarkMetricsMergeFleet is the hub's job: merge one delta from each
// of 10k nodes, with 1 or 3 functions per node.
func BenchmarkMetricsMergeFleet(b *testing.B) {
	const nodes = 10000
	for _, fns := range []int{1, 3} {
		payloads := metricsNodeDeltas(nodes, fns)
		snaps := make([]metrics.Snapshot, nodes)
		for i, p := range payloads {
			if err := snaps[i].UnmarshalBinary(p); err != nil {
				b.Fatal(err)
			}
		}
		prefix := fmt.Sprintf("nodes=10k/fns=%d/", fns)
		for _, opts := range []struct {
			name string
			opts metrics.Options
		}{
			{"windows", metrics.Options{MaxSeries: -1}},
			{"NoWindows", metrics.Options{MaxSeries: -1, NoWindows: true}},
		} {
			b.Run(prefix+"merge-into-fresh-hub/"+opts.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					hub := metrics.NewWithOptions(opts.opts)
					for _, s := range snaps {
						hub.Merge(s)
					}
				}
			})
			hub := metrics.NewWithOptions(opts.opts)
			for _, s := range snaps {
				hub.Merge(s)
			}
			b.Run(prefix+"merge-into-warm-hub/"+opts.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					for _, s := range snaps {
						hub.Merge(s)
					}
				}
			})
			// Merge is safe for concurrent use: a hub can spread deltas over
			// one goroutine per core.
			b.Run(prefix+"merge-into-warm-hub/"+opts.name+"/GOMAXPROCS-goroutines", func(b *testing.B) {
				workers := runtime.GOMAXPROCS(0)
				b.ReportAllocs()
				for b.Loop() {
					var wg sync.WaitGroup
					for w := range workers {
						wg.Go(func() {
							for i := w; i < len(snaps); i += workers {
								hub.Merge(snaps[i])
							}
						})
					}
					wg.Wait()
				}
			})
		}
		b.Run(prefix+"decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range payloads {
					var s metrics.Snapshot
					if err := s.UnmarshalBinary(p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(len(payloads[0])), "bytes/delta")
		})
	}
}

// BenchmarkMetricsAgentDelta is the agent's side of shipping: take the
// delta of 3 busy series and encode it.
func BenchmarkMetricsAgentDelta(b *testing.B) {
	a := metrics.New()
	series := make([]*metrics.Series, 3)
	for f := range series {
		series[f] = a.Series(fmt.Sprint("fn-", f), "node-1")
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		for j := range 200 {
			series[j%3].Observe(metricsDurations[j&1023], nil)
		}
		buf, _ = a.TakeDelta().AppendBinary(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes/delta")
}

// BenchmarkMetricsWindow reads the last minute and its p99 for one
// function over 1000 series.
func BenchmarkMetricsWindow(b *testing.B) {
	a := metricsFleet(1000)
	b.ReportAllocs()
	for b.Loop() {
		a.Window(metrics.Filter{FunctionID: "fn-3"}, time.Minute).Quantile(0.99)
	}
}

// BenchmarkMetricsPromCollect gathers the Prometheus collector over 1000
// series, next to client_golang's own HistogramVec with as many children.
func BenchmarkMetricsPromCollect(b *testing.B) {
	b.Run("edgeinfra/prom.Collector", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prom.New(metricsFleet(1000), prom.Options{}))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("client_golang/HistogramVec", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "d", Buckets: prometheus.DefBuckets}, []string{"function", "node"})
		reg.MustRegister(h)
		for i := range 1000 {
			h.WithLabelValues(fmt.Sprint("fn-", i%10), fmt.Sprint("node-", i)).Observe(0.01)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
